#!/usr/bin/python3
"""Checks the include graph of src/ against the layering of docs/architecture.md.

Each folder src/F/ is one CMake library, warden_F, declared in src/F/CMakeLists.txt with
warden_add_library(warden_F SOURCES ... PUBLIC deps... PRIVATE deps...). This script fails when:
  - a file of F includes "G/..." and warden_G is not among warden_F's declared dependencies
    (tests: not among what their test target links, directly or not);
  - a declared dependency points up or sideways in LAYERS below (sandbox/ may not use llm/);
  - a header that other folders include pulls in G while warden_G is PRIVATE (it must be PUBLIC),
    or warden_G is PUBLIC although only F's own sources use it (it must be PRIVATE);
  - a declared dependency is not used at all, or a folder is missing from LAYERS.

Usage: scripts/check_layers.py [ROOT]   (ROOT: the repository, default: this script's parent)
Exit status 0 when the layering holds, 1 with one line per violation otherwise.
"""

import pathlib
import re
import sys

# DESIGN.md §2, bottom to top: a folder may depend only on folders of a lower rank.
LAYERS = {
    "base": 0,
    "sys": 1,
    "artifacts": 2,
    "llm": 2,
    "sandbox": 2,
    "agent": 3,
    "jobs": 4,
    "api": 5,
    "mcp": 5,
    "rpc": 5,
    "web": 6,
    "cli": 7,
}

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([a-z0-9_]+)/[^"]+"', re.M)
CALL = re.compile(r"\b(warden_add_library|warden_add_test)\s*\(([^)]*)\)", re.S)


def is_test_file(path):
    return "_test" in path.name


def parse_cmake(path):
    """The libraries and tests declared in one CMakeLists.txt: {name: {keyword: [tokens]}}."""
    text = re.sub(r"#[^\n]*", "", path.read_text())
    libraries, tests = {}, {}
    for kind, body in CALL.findall(text):
        tokens = body.split()
        lists = {"SOURCES": [], "PUBLIC": [], "PRIVATE": [], "DEPS": [], "LABELS": []}
        key = None
        for token in tokens[1:]:
            if token in lists:
                key = token
            elif key is not None:
                lists[key].append(token)
        (libraries if kind == "warden_add_library" else tests)[tokens[0]] = lists
    return libraries, tests


def folder_of(target):
    return target[len("warden_"):] if target.startswith("warden_") else None


class Checker:
    def __init__(self, root):
        self.root = root
        self.src = root / "src"
        self.errors = []
        self.public, self.private, self.test_deps = {}, {}, {}
        self.includes = {}  # file -> [(line, folder, header path)]
        for cmake in sorted(self.src.glob("*/CMakeLists.txt")):
            folder = cmake.parent.name
            libraries, tests = parse_cmake(cmake)
            for name, lists in libraries.items():
                if folder_of(name) != folder:
                    self.error(f"{self.rel(cmake)}: library {name} should be warden_{folder}")
                    continue
                self.public[folder] = {f for f in map(folder_of, lists["PUBLIC"]) if f}
                self.private[folder] = {f for f in map(folder_of, lists["PRIVATE"]) if f}
                if lists["DEPS"]:
                    self.error(f"{self.rel(cmake)}: {name} lists DEPS: say PUBLIC or PRIVATE")
            for lists in tests.values():
                deps = {f for f in map(folder_of, lists["DEPS"]) if f}
                for source in lists["SOURCES"]:
                    self.test_deps[cmake.parent / source] = deps
        for path in sorted(self.src.rglob("*")):
            if path.suffix in (".cc", ".h") and path.is_file():
                text = path.read_text(errors="replace")
                self.includes[path] = [
                    (text.count("\n", 0, m.start()) + 1, m.group(1), m.group(0).split('"')[1])
                    for m in INCLUDE.finditer(text)
                ]

    def folder(self, path):
        """The folder of src/ that `path` belongs to ("" for src/main.cc)."""
        parts = path.relative_to(self.src).parts
        return parts[0] if len(parts) > 1 else ""

    def rel(self, path):
        return path.relative_to(self.root)

    def error(self, message):
        self.errors.append(message)

    def deps(self, folder):
        return self.public.get(folder, set()) | self.private.get(folder, set())

    def closure(self, folders):
        seen, todo = set(), list(folders)
        while todo:
            folder = todo.pop()
            if folder not in seen:
                seen.add(folder)
                todo.extend(self.deps(folder))
        return seen

    def check_ranks(self):
        for folder in sorted(set(self.public) | {self.folder(p) for p in self.includes} - {""}):
            if folder not in LAYERS:
                self.error(f"src/{folder}/: not in LAYERS of scripts/check_layers.py: give it "
                           "the rank DESIGN.md implies")
        for folder in sorted(self.public):
            for dep in sorted(self.deps(folder)):
                if LAYERS.get(dep, 99) >= LAYERS.get(folder, -1):
                    self.error(f"src/{folder}/CMakeLists.txt: warden_{folder} depends on "
                               f"warden_{dep}, which is not below it (DESIGN.md §2)")

    def exported_headers(self, folder):
        """F's headers that non-test code of other folders includes, with what they include of F."""
        exported = set()
        for path, includes in self.includes.items():
            if self.folder(path) != folder and not is_test_file(path):
                exported |= {self.src / h for _, f, h in includes if f == folder}
        todo = list(exported)
        while todo:
            for _, f, header in self.includes.get(todo.pop(), []):
                if f == folder and self.src / header not in exported:
                    exported.add(self.src / header)
                    todo.append(self.src / header)
        return exported

    def check_includes(self):
        used = {folder: set() for folder in self.public}
        for path, includes in sorted(self.includes.items()):
            folder = self.folder(path)
            if folder not in self.public:
                continue  # src/main.cc and folders without a library
            test = is_test_file(path) or path in self.test_deps
            allowed = (self.closure(self.test_deps.get(path, set()) | {folder}) if test
                       else self.deps(folder))
            for line, dep, header in includes:
                if dep == folder or dep not in LAYERS:
                    continue
                if not test:
                    used[folder].add(dep)
                if dep not in allowed:
                    what = "its test target links" if test else f"warden_{folder} depends on"
                    self.error(f"{self.rel(path)}:{line}: includes \"{header}\", but {what} "
                               f"{', '.join(sorted(allowed - {folder})) or 'nothing'} only "
                               f"(src/{folder}/CMakeLists.txt)")
        for folder in sorted(self.public):
            exported = self.exported_headers(folder)
            public_use = {dep for h in exported for _, dep, _ in self.includes.get(h, [])}
            cmake = f"src/{folder}/CMakeLists.txt"
            for dep in sorted(self.deps(folder) - used[folder]):
                self.error(f"{cmake}: warden_{folder} depends on warden_{dep} but includes "
                           f"nothing of it: remove the dependency")
            for dep in sorted(self.private[folder] & public_use):
                self.error(f"{cmake}: warden_{dep} must be PUBLIC: a header of {folder}/ that "
                           f"other folders include includes {dep}/")
            for dep in sorted((self.public[folder] & used[folder]) - public_use):
                self.error(f"{cmake}: warden_{dep} should be PRIVATE: only the sources of "
                           f"{folder}/ include it")


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
    if len(sys.argv) <= 1:
        root = root.parent.parent
    checker = Checker(root)
    checker.check_ranks()
    checker.check_includes()
    for message in checker.errors:
        print(message)
    files = len(checker.includes)
    if checker.errors:
        print(f"check_layers: {len(checker.errors)} violation(s) of the layering in {files} files")
        return 1
    print(f"check_layers: {files} files under src/ respect the layering")
    return 0


if __name__ == "__main__":
    sys.exit(main())
