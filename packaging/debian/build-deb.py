#!/usr/bin/env python3
"""Build the mqtts .deb from Cargo.toml's [package.metadata.deb], with dpkg-deb.

The same fields drive `cargo deb`; this script does what cargo-deb does with them, so a
fresh Debian machine needs no extra tool: assets are staged (a destination ending in `/`
keeps the file name, man pages are gzipped with `gzip -9n` as Debian policy asks, binaries
are stripped), `license-file` becomes usr/share/doc/<name>/copyright and `changelog`
changelog.Debian.gz, then control and
md5sums are written and `dpkg-deb --root-owner-group --build` packs the tree.

Usage: build-deb.py [--no-strip]   (run from anywhere; prints the .deb's path)
Binaries are taken from cargo's target directory (`target/release/...` in the assets is
resolved against `cargo metadata`'s target_directory, so CARGO_TARGET_DIR is honoured).
"""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def target_dir() -> Path:
    meta = run(
        "cargo", "metadata", "--format-version", "1", "--no-deps",
        cwd=ROOT, stdout=subprocess.PIPE,
    ).stdout
    return Path(json.loads(meta)["target_directory"])


def source_date_epoch() -> int:
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = run("git", "log", "-1", "--format=%ct", cwd=ROOT,
                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.strip()
        return int(out)
    except (subprocess.CalledProcessError, FileNotFoundError, ValueError):
        return 0


def description(short: str, extended: str) -> str:
    """The control file's Description: a summary line, then the long text folded."""
    words, lines, line = extended.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > 78:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        lines.append(line)
    return short.rstrip(".") + "\n" + "".join(f" {l}\n" for l in lines)


def main() -> None:
    strip = "--no-strip" not in sys.argv[1:]
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    pkg = cargo["package"]
    deb = pkg["metadata"]["deb"]
    name, version = pkg["name"], pkg["version"]
    arch = run("dpkg", "--print-architecture", stdout=subprocess.PIPE).stdout.strip()
    deb_version = f"{version}-1"
    target = target_dir()
    out_dir = target / "debian"
    stage = out_dir / f"{name}_{deb_version}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    epoch = source_date_epoch()

    staged: list[Path] = []
    for src, dest, mode in deb["assets"]:
        if src.startswith("target/release/"):
            s = target / "release" / src.removeprefix("target/release/")
        else:
            s = ROOT / src
        if not s.is_file():
            sys.exit(f"build-deb: asset {src} is missing ({s})")
        d = stage / dest
        if dest.endswith("/"):
            d = d / s.name
        d.parent.mkdir(parents=True, exist_ok=True)
        if dest.startswith("usr/share/man/"):
            d = d.with_name(d.name + ".gz")
            with open(s, "rb") as f, open(d, "wb") as raw:
                # mtime=0 and no file name: what `gzip -9n` writes.
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                   compresslevel=9, mtime=0) as g:
                    g.write(f.read())
        else:
            shutil.copyfile(s, d)
            if strip and mode == "755" and shutil.which("strip"):
                run("strip", "--strip-unneeded", str(d))
        d.chmod(int(mode, 8))
        staged.append(d)

    lic, _skip = deb["license-file"]
    doc = stage / "usr/share/doc" / name
    doc.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / lic, doc / "copyright")
    (doc / "copyright").chmod(0o644)
    staged.append(doc / "copyright")
    if "changelog" in deb:
        changelog = doc / "changelog.Debian.gz"
        with open(changelog, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                               compresslevel=9, mtime=0) as g:
                g.write((ROOT / deb["changelog"]).read_bytes())
        changelog.chmod(0o644)
        staged.append(changelog)

    for p in sorted(stage.rglob("*")):
        if p.is_dir():
            p.chmod(0o755)
    installed_kb = sum((p.stat().st_size + 1023) // 1024 for p in staged)

    control_dir = stage / "DEBIAN"
    control_dir.mkdir()
    fields = [
        ("Package", name),
        ("Version", deb_version),
        ("Architecture", arch),
        ("Maintainer", deb["maintainer"]),
        ("Installed-Size", str(installed_kb)),
        ("Depends", deb["depends"]),
        ("Suggests", deb.get("suggests", "")),
        ("Section", deb.get("section", "utils")),
        ("Priority", deb.get("priority", "optional")),
        ("Description", description(pkg["description"], deb["extended-description"])),
    ]
    text = "".join(f"{k}: {v}\n" if not v.endswith("\n") else f"{k}: {v}"
                   for k, v in fields if v)
    (control_dir / "control").write_text(text)
    sums = []
    for p in sorted(staged):
        digest = hashlib.md5(p.read_bytes()).hexdigest()
        sums.append(f"{digest}  {p.relative_to(stage)}\n")
    (control_dir / "md5sums").write_text("".join(sums))
    for p in control_dir.iterdir():
        p.chmod(0o644)

    for p in stage.rglob("*"):
        os.utime(p, (epoch, epoch), follow_symlinks=False)
    os.utime(stage, (epoch, epoch))

    deb_path = out_dir / f"{stage.name}.deb"
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
    run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb_path),
        stdout=subprocess.DEVNULL, env=env)
    print(deb_path)


if __name__ == "__main__":
    main()
