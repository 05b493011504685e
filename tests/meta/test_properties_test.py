#!/usr/bin/python3
"""Guards the ctest configuration against the fresh-machine failure class: a test that needs a
fixture's product (the guest image, the fake sysfs) but does not require the fixture passes on a
warm machine and fails on a fresh one. Reads `ctest --show-only=json-v1` and fails if

  * a test whose command (the executable, or a script and the scripts it sources or runs) contains
    a fixture's marker does not set up, clean up or require that fixture, or
  * a test carries a property name that is not a CMake test property (what a list value split
    into words by gtest_discover_tests(PROPERTIES ...) produces).

Usage: test_properties_test.py (--build-dir DIR | --json FILE) --fixture NAME=MARKER...
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

SCRIPT_REF = re.compile(r'[\w./$-]*[\w-]+\.(?:sh|py)\b')


def test_property_names():
    """The names in the 'Properties on Tests' section of CMake's own manual."""
    manual = subprocess.run(['cmake', '--help-manual', 'cmake-properties'], check=True,
                            capture_output=True, text=True).stdout.splitlines()
    names, inside = set(), False
    for i, line in enumerate(manual):
        if i + 1 < len(manual) and re.fullmatch(r'=+', manual[i + 1]) and line.strip():
            inside = line.strip() == 'Properties on Tests'
        elif inside and i + 1 < len(manual) and re.fullmatch(r'-+', manual[i + 1]):
            names.add(line.strip())
    if not names:
        sys.exit('test_properties_test: no test properties found in cmake --help-manual')
    return names


def is_pattern_name(name, names):
    # Manual entries such as ATTACHED_FILES or <CONFIG> variants are plain; a few are patterns.
    return any('<' in n and re.fullmatch(re.sub(r'<[^>]+>', r'\\w+', n), name) for n in names)


class CommandUse:
    """Which markers a test's command uses: its argv, the executables and scripts it names, and
    the scripts those scripts name (relative to their own directory), so a wrapper does not hide
    a need. Per-file results are cached: the test binaries are large and shared by many tests."""

    def __init__(self, markers):
        self.markers = markers
        self.cache = {}

    def of_file(self, path, seen):
        path = os.path.realpath(path)
        if path in seen or not os.path.isfile(path):
            return set()
        seen.add(path)
        if path not in self.cache:
            with open(path, 'rb') as f:
                data = f.read(64 << 20).decode('latin-1')
            found = {m for m in self.markers if m in data}
            refs = []
            if data.startswith('#!'):  # a script: the scripts it sources or runs count too
                here = os.path.dirname(path)
                refs = [os.path.join(here, re.sub(r'^\$\{?\w+\}?/', '', r))
                        for r in SCRIPT_REF.findall(data)]
            self.cache[path] = (found, refs)
        found, refs = self.cache[path]
        found = set(found)
        for r in refs:
            found |= self.of_file(r, seen)
        return found

    def of(self, command):
        # The guard's own --fixture NAME=MARKER arguments name the markers; they do not use them.
        argv = [a for i, a in enumerate(command) if i == 0 or command[i - 1] != '--fixture']
        found = {m for m in self.markers if any(m in a for a in argv)}
        seen = set()
        for a in argv:  # programs and scripts, not data files passed as arguments
            if os.access(a, os.X_OK):
                found |= self.of_file(a, seen)
        return found


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--build-dir')
    src.add_argument('--json')
    ap.add_argument('--fixture', action='append', default=[], metavar='NAME=MARKER')
    args = ap.parse_args()

    if args.json:
        data = json.loads(pathlib.Path(args.json).read_text())
    else:
        out = subprocess.run(['ctest', '--show-only=json-v1', '--test-dir', args.build_dir],
                             check=True, capture_output=True, text=True).stdout
        data = json.loads(out)
    markers = [f.split('=', 1) for f in args.fixture]
    names = test_property_names()
    use = CommandUse({marker for _, marker in markers})
    problems = []
    for test in data['tests']:
        props = {p['name']: p['value'] for p in test.get('properties', [])}
        for name in props:
            if name not in names and not is_pattern_name(name, names):
                problems.append(f'{test["name"]}: "{name}" is not a CMake test property (a list '
                                f'split into words? use mdevrun_gtest() from cmake/MdevrunTests.cmake)')
        def fixtures(key):
            v = props.get(key, [])
            return set(v if isinstance(v, list) else str(v).split(';'))
        declared = fixtures('FIXTURES_REQUIRED') | fixtures('FIXTURES_SETUP') | fixtures('FIXTURES_CLEANUP')
        used = use.of(test.get('command', []))
        for fixture, marker in markers:
            if marker in used and fixture not in declared:
                problems.append(f'{test["name"]}: uses {marker} but does not require fixture '
                                f'"{fixture}" (FIXTURES_REQUIRED {fixture})')
    for p in problems:
        print('test_properties_test:', p)
    print(f'test_properties_test: {len(data["tests"])} tests, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
