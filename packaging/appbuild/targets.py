"""What differs between the gateways' CPUs: Debian's name for the architecture, the dynamic loader,
the ELF machine, the qemu emulator and the wheel platform tags the bundled glibc can load."""

from __future__ import annotations

from dataclasses import dataclass

DEBIAN_SUITE = "bookworm"  # where the interpreter and the build root come from
PYTHON = "3.11"
GLIBC = (2, 36)  # bookworm's, which the package brings: a wheel for any older glibc loads with it


@dataclass(frozen=True)
class Target:
    """One CPU architecture a package is built for."""

    arch: str  # as `uname -m` says on the device, and in the package's name
    debian: str  # Debian's architecture name
    triplet: str  # Debian's multiarch folder under /usr/lib
    loader: str  # the dynamic loader's file name (PT_INTERP)
    elf_machine: str  # e_machine as pyelftools names it
    qemu: str  # binfmt_misc entry of qemu-user-static

    @property
    def wheel_platforms(self) -> list[str]:
        """Return the wheel platform tags this target's bundled glibc can run, newest first."""
        tags = [f"manylinux_{GLIBC[0]}_{minor}_{self.arch}" for minor in range(GLIBC[1], 16, -1)]
        return [*tags, f"manylinux2014_{self.arch}", f"linux_{self.arch}"]


TARGETS = {
    "x86_64": Target("x86_64", "amd64", "x86_64-linux-gnu", "ld-linux-x86-64.so.2", "EM_X86_64", "qemu-x86_64"),
    "aarch64": Target("aarch64", "arm64", "aarch64-linux-gnu", "ld-linux-aarch64.so.1", "EM_AARCH64", "qemu-aarch64"),
    "armv7l": Target("armv7l", "armhf", "arm-linux-gnueabihf", "ld-linux-armhf.so.3", "EM_ARM", "qemu-arm"),
}
