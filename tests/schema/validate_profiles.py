#!/usr/bin/python3
"""Validates every example profile against profiles/profile.schema.json, and checks that the
schema still rejects what mdevrun rejects (an unknown key, a bad UUID)."""
import json
import pathlib
import sys

import jsonschema


def strip_comments(text):
    """Drops // and /* */ comments outside strings (profiles allow them, json does not)."""
    out, i, in_string = [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == '\\':
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith('//', i):
            while i < len(text) and text[i] != '\n':
                i += 1
            continue
        elif text.startswith('/*', i):
            i = text.index('*/', i) + 2
            continue
        else:
            out.append(c)
        i += 1
    return ''.join(out)


def merge_patch(target, patch):
    """RFC 7386, as mdevrun applies it to `extends`."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def load(path):
    """A profile with its extends chain merged, as mdevrun sees it."""
    doc = json.loads(strip_comments(path.read_text()))
    base = doc.pop('extends', None)
    if base is None:
        return doc
    return merge_patch(load(path.parent / base), doc)


def main():
    root = pathlib.Path(sys.argv[1])
    schema = json.loads((root / 'profiles/profile.schema.json').read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = 0
    profiles = sorted(p for p in (root / 'profiles').rglob('*.json') if p.name != 'profile.schema.json')
    for path in profiles:
        errors = list(validator.iter_errors(load(path)))
        for e in errors:
            print(f'FAIL {path.relative_to(root)}: /{"/".join(map(str, e.path))}: {e.message}')
        failures += bool(errors)
        if not errors:
            print(f'ok   {path.relative_to(root)}')
    for bad in ({'name': 'x', 'rombarr': 1}, {'name': 'x', 'mdevs': [{'id': 'g', 'type': 't', 'uuid': '4dd5'}]},
                {'name': 'x', 'devices': [{'id': 'mdevrun-x', 'driver': 'usb-tablet'}]}):
        if validator.is_valid(bad):
            print(f'FAIL schema accepts {bad}')
            failures += 1
    print(f'{len(profiles) - failures} passed, {failures} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
