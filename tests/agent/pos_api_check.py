#!/usr/bin/python3
"""Checks answers recorded from a running agent against the POS API's OpenAPI description.

Usage: pos_api_check.py DESCRIPTION.yaml ANSWERS.jsonl

Each line of ANSWERS is {"method", "path", "status", "content_type", "body"} (body as text).
Every answer must have its status declared for its operation (or a `default`), with the
content type it was sent as, and a body that the declared schema accepts; a method or a path
the description does not have must be answered 405 or 404 with an Error. The description's
schemas are read strictly: an object schema that lists its properties and does not say
`additionalProperties` accepts no others, so a field the agent adds without documenting it
fails here as a missing one does. Exit status 0 when every answer matches, 1 otherwise (each
mismatch printed), 2 on bad input.

Needs Debian's python3-yaml and python3-jsonschema (Draft 2020-12 for unevaluatedProperties).
"""
import json
import sys

import jsonschema
import yaml


class Description:
    def __init__(self, document):
        self.document = document
        self.schemas = document.get("components", {}).get("schemas", {})

    def resolve(self, node):
        """The object a local $ref points to ("#/components/..."), or the node itself."""
        while isinstance(node, dict) and "$ref" in node:
            target = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def json_schema(self, schema, strict=True):
        """An OpenAPI 3.0 schema object as a JSON Schema, references inlined."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return schema
        out = {}
        for key, value in schema.items():
            if key in ("nullable", "example", "discriminator", "xml", "externalDocs", "deprecated"):
                continue
            if key in ("allOf", "anyOf", "oneOf"):
                # The parts are judged together: only the whole refuses what none of them names.
                out[key] = [self.json_schema(part, strict=False) for part in value]
            elif key == "properties":
                out[key] = {name: self.json_schema(part) for name, part in value.items()}
            elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
                out[key] = self.json_schema(value)
            else:
                out[key] = value
        if strict and "additionalProperties" not in schema:
            if "properties" in schema or "allOf" in schema:
                out["unevaluatedProperties"] = False
        if schema.get("nullable"):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        return out

    def response(self, path, method, status):
        described = self.document["paths"].get(path)
        operation = (described or {}).get(method.lower())
        if operation is None:
            # A path or a method the description does not have: refused as its Error says.
            expected = 405 if described else 404
            if status != expected:
                return None, "%s %s is not described, and answered %d, not %d" % (method, path, status, expected)
            return self.resolve({"$ref": "#/components/responses/" + ("Refused" if described else "NotFound")}), None
        responses = operation["responses"]
        declared = responses.get(str(status), responses.get("default"))
        if declared is None:
            return None, "status %d is not declared for %s %s" % (status, method, path)
        return self.resolve(declared), None


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        description = Description(yaml.safe_load(f))
    problems = []
    checked = 0
    with open(argv[2], encoding="utf-8") as f:
        answers = [json.loads(line) for line in f if line.strip()]
    for answer in answers:
        where = "%s %s -> %d" % (answer["method"], answer["path"], answer["status"])
        response, problem = description.response(answer["path"].split("?")[0], answer["method"], answer["status"])
        if problem:
            problems.append("%s: %s" % (where, problem))
            continue
        media = answer["content_type"].split(";")[0].strip()
        content = response.get("content", {})
        if media not in content:
            problems.append("%s: sent as %s, described as %s" % (where, media, ", ".join(content) or "no body"))
            continue
        body = answer["body"] if media.startswith("text/") else json.loads(answer["body"])
        schema = description.json_schema(content[media]["schema"])
        validator = jsonschema.Draft202012Validator(schema)
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            at = "/" + "/".join(str(p) for p in error.absolute_path)
            problems.append("%s: at %s: %s" % (where, at, error.message))
        checked += 1
    for problem in problems:
        print(problem)
    print("pos_api_check: %d answers checked, %d problems" % (checked, len(problems)))
    return 1 if problems or not answers else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
