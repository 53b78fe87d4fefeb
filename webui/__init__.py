"""The admin web UI's static files (HTML, ES modules, CSS), shipped inside the package."""
