"""Build the gateway's app package: a relocatable CPython for the target, every dependency
installed into it, and the shell scripts that install, start and remove it on a device.

    errors      BuildError, and EmulationUnavailable when qemu-user cannot be used
    targets     what differs between x86_64, aarch64 and armv7l (Debian arch, loader, wheel tags)
    steps       each step printed with its time
    cache       where roots and built wheels are kept between builds
    emulation   qemu-user through binfmt_misc, for running the target's binaries on this machine
    debian      Debian root filesystems made with mmdebstrap (runtime source, build root, test device)
    elf         reading and patching ELF files (needed libraries, rpath, interpreter)
    wheels      the dependencies as wheels: PyPI's, or built from sdists in the build root
    runtime     the interpreter, its libraries and the installed packages, made relocatable
"""
