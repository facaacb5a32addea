#!/usr/bin/env python3
"""tap-orders: a Singer tap for the demo, standard library only.

Reads `orders.csv` from the configured directory and emits stream `orders`, incrementally on
`updated_at`: a run given a state starts after the bookmark it holds.
"""
import argparse
import csv
import json
import os
import sys

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "customer": {"type": "string"},
        "amount": {"type": "number"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}


def load(path):
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--state")
    parser.add_argument("--catalog")
    parser.add_argument("--discover", action="store_true")
    args = parser.parse_args()
    config = load(args.config)
    if args.discover:
        metadata = [{"breadcrumb": [], "metadata": {"inclusion": "available",
                     "table-key-properties": ["id"], "valid-replication-keys": ["updated_at"]}}]
        metadata += [{"breadcrumb": ["properties", name], "metadata": {"inclusion": "available"}}
                     for name in SCHEMA["properties"]]
        print(json.dumps({"streams": [{"tap_stream_id": "orders", "stream": "orders",
                                       "schema": SCHEMA, "metadata": metadata}]}, indent=2))
        return
    bookmark = load(args.state).get("bookmarks", {}).get("orders", {}).get("updated_at", "")
    print(f"Reading orders updated after '{bookmark or 'the beginning'}'", file=sys.stderr)
    emit({"type": "SCHEMA", "stream": "orders", "schema": SCHEMA, "key_properties": ["id"],
          "bookmark_properties": ["updated_at"]})
    path = os.path.join(config.get("data_dir", "data"), "orders.csv")
    sent = 0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["updated_at"] <= bookmark:
                continue
            record = {"id": int(row["id"]), "customer": row["customer"],
                      "amount": float(row["amount"]), "updated_at": row["updated_at"]}
            emit({"type": "RECORD", "stream": "orders", "record": record})
            emit({"type": "STATE", "value": {"bookmarks": {"orders": {"updated_at": row["updated_at"]}}}})
            sent += 1
    print(f"Sent {sent} orders", file=sys.stderr)


if __name__ == "__main__":
    main()
