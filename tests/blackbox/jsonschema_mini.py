"""jsonschema_mini: a small JSON Schema (draft 2020-12) validator, stdlib only.

It knows exactly the keywords proto/*.schema.json and the schemas inside
proto/openapi.yaml use, and refuses a schema that uses any other assertion
keyword (SchemaError), so a schema can never lean on a keyword that would be
silently ignored here.

    import jsonschema_mini as js
    schema = js.load("proto/request.schema.json")
    errors = js.validate(instance, schema)          # [] when valid
    js.check(instance, schema)                      # raises ValidationError

$ref is resolved as a JSON Pointer inside one document: "#", "#/$defs/x",
"#/components/schemas/Unit" (pass root= the whole OpenAPI document when the
schema is a piece of it). Formats date-time, date and uuid are asserted.
"""

import json
import math
import re
from decimal import Decimal, InvalidOperation

# Assertion and applicator keywords handled below.
ASSERTIONS = frozenset((
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "pattern", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
    "multipleOf", "format", "oneOf", "anyOf", "allOf", "not", "$ref",
))
# Annotations: carry no assertion, allowed anywhere.
ANNOTATIONS = frozenset((
    "$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples",
    "example", "deprecated", "readOnly", "writeOnly", "contentMediaType",
))
FORMATS = ("date-time", "date", "uuid")

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SchemaError(Exception):
    """The schema itself is wrong or uses a keyword this validator lacks."""


class ValidationError(Exception):
    """The instance does not match; .errors lists every problem."""

    def __init__(self, errors):
        super().__init__("; ".join(errors))
        self.errors = errors


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validate(instance, schema, root=None):
    """Every problem as "path: message"; [] when instance is valid."""
    errors = []
    _validate(instance, schema, root if root is not None else schema, "$", errors)
    return errors


def check(instance, schema, root=None):
    errors = validate(instance, schema, root)
    if errors:
        raise ValidationError(errors)


def is_valid(instance, schema, root=None):
    return not validate(instance, schema, root)


def resolve(root, ref):
    """The subschema a local $ref names."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError("only local $ref are supported: %r" % (ref,))
    node = root
    if ref in ("#", "#/"):
        return node
    if not ref.startswith("#/"):
        raise SchemaError("bad $ref %r" % ref)
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SchemaError("unresolvable $ref %r" % ref)
    return node


def check_schema(schema, root=None, where="$"):
    """Raises SchemaError when a schema (recursively) uses a keyword or
    format this validator does not know, or a $ref that does not resolve."""
    root = root if root is not None else schema
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise SchemaError("%s: a schema must be an object or a boolean" % where)
    for key, value in schema.items():
        if key in ANNOTATIONS:
            if key == "$defs":
                for name, sub in value.items():
                    check_schema(sub, root, "%s.$defs.%s" % (where, name))
            continue
        if key not in ASSERTIONS:
            raise SchemaError("%s: unsupported keyword %r" % (where, key))
        if key == "$ref":
            resolve(root, value)
        elif key == "format" and value not in FORMATS:
            raise SchemaError("%s: unsupported format %r" % (where, value))
        elif key == "properties":
            for name, sub in value.items():
                check_schema(sub, root, "%s.%s" % (where, name))
        elif key in ("items", "additionalProperties", "not"):
            check_schema(value, root, "%s.%s" % (where, key))
        elif key in ("oneOf", "anyOf", "allOf"):
            if not isinstance(value, list) or not value:
                raise SchemaError("%s: %s needs a non-empty array" % (where, key))
            for i, sub in enumerate(value):
                check_schema(sub, root, "%s.%s[%d]" % (where, key, i))
        elif key == "pattern":
            try:
                re.compile(value)
            except re.error as e:
                raise SchemaError("%s: bad pattern %r: %s" % (where, value, e)) from None
        elif key == "type":
            types = value if isinstance(value, list) else [value]
            for t in types:
                if t not in _TYPE_CHECKS:
                    raise SchemaError("%s: unknown type %r" % (where, t))


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_integer(x):
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    return isinstance(x, float) and math.isfinite(x) and x.is_integer()


_TYPE_CHECKS = {
    "null": lambda x: x is None,
    "boolean": lambda x: isinstance(x, bool),
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda x: isinstance(x, str),
    "array": lambda x: isinstance(x, list),
    "object": lambda x: isinstance(x, dict),
}


def _json_equal(a, b):
    """JSON equality: 1 == 1.0, but true != 1, and object key order is moot."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _valid_date(y, m, d):
    y, m, d = int(y), int(m), int(d)
    if not 1 <= m <= 12 or d < 1:
        return False
    days = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28,
            31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return d <= days


def _format_ok(fmt, x):
    if fmt == "uuid":
        return bool(_UUID.match(x))
    if fmt == "date":
        m = _DATE.match(x)
        return bool(m) and _valid_date(*m.groups())
    if fmt == "date-time":
        m = _DATE_TIME.match(x)
        if not m or not _valid_date(*m.group(1, 2, 3)):
            return False
        hh, mm, ss = int(m.group(4)), int(m.group(5)), int(m.group(6))
        if hh > 23 or mm > 59 or ss > 60:
            return False
        if m.group(9) and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
            return False
        return True
    raise SchemaError("unsupported format %r" % fmt)


def _multiple_of(x, m):
    # Decimal from the shortest repr, so 85.5 is a multiple of 0.01
    # although the binary doubles say otherwise.
    try:
        return Decimal(repr(x)) % Decimal(repr(m)) == 0
    except (InvalidOperation, ValueError):
        return False


def _short(x):
    s = json.dumps(x, ensure_ascii=False)
    return s if len(s) <= 60 else s[:57] + "..."


def _validate(x, schema, root, path, errors):
    if schema is True:
        return
    if schema is False:
        errors.append("%s: no value is allowed here" % path)
        return
    if not isinstance(schema, dict):
        raise SchemaError("%s: schema is not an object" % path)
    for key in schema:
        if key not in ASSERTIONS and key not in ANNOTATIONS:
            raise SchemaError("%s: unsupported keyword %r" % (path, key))

    if "$ref" in schema:
        _validate(x, resolve(root, schema["$ref"]), root, path, errors)

    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        for t in types:
            if t not in _TYPE_CHECKS:
                raise SchemaError("unknown type %r" % t)
        if not any(_TYPE_CHECKS[t](x) for t in types):
            errors.append("%s: %s is not of type %s" % (path, _short(x), "/".join(types)))
            return                              # the other checks would only echo this one

    if "const" in schema and not _json_equal(x, schema["const"]):
        errors.append("%s: %s is not %s" % (path, _short(x), _short(schema["const"])))
    if "enum" in schema and not any(_json_equal(x, e) for e in schema["enum"]):
        errors.append("%s: %s is not one of %s" % (path, _short(x), _short(schema["enum"])))

    if isinstance(x, str):
        if "minLength" in schema and len(x) < schema["minLength"]:
            errors.append("%s: shorter than %d characters" % (path, schema["minLength"]))
        if "maxLength" in schema and len(x) > schema["maxLength"]:
            errors.append("%s: longer than %d characters" % (path, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], x):
            errors.append("%s: %s does not match %s" % (path, _short(x), schema["pattern"]))
        if "format" in schema and not _format_ok(schema["format"], x):
            errors.append("%s: %s is not a %s" % (path, _short(x), schema["format"]))

    if _is_number(x):
        if "minimum" in schema and x < schema["minimum"]:
            errors.append("%s: %s is below %s" % (path, x, schema["minimum"]))
        if "maximum" in schema and x > schema["maximum"]:
            errors.append("%s: %s is above %s" % (path, x, schema["maximum"]))
        if "multipleOf" in schema and not _multiple_of(x, schema["multipleOf"]):
            errors.append("%s: %s is not a multiple of %s" % (path, x, schema["multipleOf"]))

    if isinstance(x, list):
        if "minItems" in schema and len(x) < schema["minItems"]:
            errors.append("%s: fewer than %d items" % (path, schema["minItems"]))
        if "maxItems" in schema and len(x) > schema["maxItems"]:
            errors.append("%s: more than %d items" % (path, schema["maxItems"]))
        if "items" in schema:
            for i, item in enumerate(x):
                _validate(item, schema["items"], root, "%s[%d]" % (path, i), errors)

    if isinstance(x, dict):
        for name in schema.get("required", ()):
            if name not in x:
                errors.append("%s: %r is required" % (path, name))
        props = schema.get("properties", {})
        for name, value in x.items():
            sub = "%s.%s" % (path, name)
            if name in props:
                _validate(value, props[name], root, sub, errors)
            elif "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    errors.append("%s: unexpected property" % sub)
                else:
                    _validate(value, extra, root, sub, errors)

    if "allOf" in schema:
        for sub in schema["allOf"]:
            _validate(x, sub, root, path, errors)
    if "anyOf" in schema:
        branches = [validate_branch(x, sub, root, path) for sub in schema["anyOf"]]
        if all(branches):
            errors.append("%s: matches none of anyOf (%s)" % (path, _closest(branches)))
    if "oneOf" in schema:
        branches = [validate_branch(x, sub, root, path) for sub in schema["oneOf"]]
        passing = sum(1 for b in branches if not b)
        if passing == 0:
            errors.append("%s: matches none of oneOf (%s)" % (path, _closest(branches)))
        elif passing > 1:
            errors.append("%s: matches %d branches of oneOf, needs exactly one" % (path, passing))
    if "not" in schema and not validate_branch(x, schema["not"], root, path):
        errors.append("%s: %s matches a schema it must not" % (path, _short(x)))


def validate_branch(x, schema, root, path):
    errors = []
    _validate(x, schema, root, path, errors)
    return errors


def _closest(branches):
    """The problems of the branch that came nearest, to say why."""
    best = min(branches, key=len)
    return "; ".join(best[:3])
