"""What a Schemathesis run reached, from its NDJSON report.

    schemathesis_coverage.py OPENAPI_JSON EVENTS_NDJSON

Prints one line per operation of the document (the cases sent, and how many
got each status) and fails (exit 1) unless every operation got an answer
that is not 401 or 403 (a run that only ever met the token check tested
nothing behind it), every operation whose document has a 2xx answer got one,
and signing in again never stopped working mid-run. The report is
Schemathesis's own record of the cases it sent and what came back.
"""

import json
import sys
from collections import Counter, defaultdict

METHODS = ("get", "put", "post", "delete", "patch")


def operations(document):
    """Each operation's label (`METHOD /path`) and whether it documents a 2xx."""
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                responses = item[method].get("responses", {})
                found[f"{method.upper()} {path}"] = any(s.startswith("2") for s in responses)
    return found


def read(events):
    """Statuses per operation label, and the run's final event (None if it never finished)."""
    statuses = defaultdict(Counter)
    finished = None
    with open(events, encoding="utf-8") as lines:
        for line in lines:
            ((kind, event),) = json.loads(line).items()
            if kind == "ScenarioFinished":
                recorder = event["recorder"]
                cases = recorder.get("cases", {})
                for case_id, interaction in recorder.get("interactions", {}).items():
                    case = cases.get(case_id, {}).get("value")
                    response = interaction.get("response")
                    if case is None or response is None:
                        continue
                    label = f"{case['method'].upper()} {case['path']}"
                    statuses[label][response["status_code"]] += 1
            elif kind == "EngineFinished":
                finished = event
    return statuses, finished


def main(document_path, events_path):
    with open(document_path, encoding="utf-8") as file:
        documented = operations(json.load(file))
    try:
        statuses, finished = read(events_path)
    except FileNotFoundError:
        print(f"coverage: Schemathesis wrote no report ({events_path})", file=sys.stderr)
        return 1
    problems = []
    print("Coverage (operation, cases sent, statuses seen):")
    for label, has_2xx in documented.items():
        seen = statuses.get(label, Counter())
        total = sum(seen.values())
        shown = " ".join(f"{status}x{count}" for status, count in sorted(seen.items()))
        print(f"  {label:<48} {total:>5}  {shown}")
        if total == 0:
            problems.append(f"{label}: no case was sent")
        elif set(seen) <= {401, 403}:
            problems.append(f"{label}: answered only 401/403")
        elif has_2xx and not any(200 <= status < 300 for status in seen):
            problems.append(f"{label}: never answered 2xx")
    if finished is None:
        problems.append("the run did not finish")
    elif (finished.get("payload") or {}).get("reauth_broke"):
        problems.append("signing in again stopped working mid-run")
    cases = sum(sum(seen.values()) for seen in statuses.values())
    print(f"{len(documented)} operations, {cases} cases with answers")
    for problem in problems:
        print(f"coverage: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
