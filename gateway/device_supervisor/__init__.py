"""Device Supervisor formats: the measure CSV of its 2.x web UI (more to come with the importer)."""
