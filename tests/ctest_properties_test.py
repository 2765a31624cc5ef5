#!/usr/bin/env python3
"""Every GoogleTest case as CTest will run it has BACKPROP_DATA and OMP_NUM_THREADS=1 in its
environment and requires the mnist fixture (issue 18: a `;` in ENVIRONMENT once dropped both,
so MNIST tests could run before the fetch, skip, and the suite still passed).

  ctest_properties_test.py CMAKE_COMMAND BUILD_DIR
"""
import json
import os
import subprocess
import sys


def main():
    cmake, build = sys.argv[1:3]
    ctest = os.path.join(os.path.dirname(cmake), "ctest")
    listing = subprocess.run([ctest, "--test-dir", build, "--show-only=json-v1"],
                             capture_output=True, text=True, check=True).stdout
    problems, gtests = [], 0
    for test in json.loads(listing)["tests"]:
        command = test.get("command", [])
        if not any(arg.startswith("--gtest_filter=") for arg in command) or test["name"].startswith("skip_policy"):
            continue
        gtests += 1
        props = {p["name"]: p["value"] for p in test.get("properties", [])}
        env = props.get("ENVIRONMENT", [])
        for want in ("OMP_NUM_THREADS=1",):
            if want not in env:
                problems.append(f"{test['name']}: no {want} in ENVIRONMENT {env}")
        if not any(v.startswith("BACKPROP_DATA=") for v in env):
            problems.append(f"{test['name']}: no BACKPROP_DATA in ENVIRONMENT {env}")
        if "mnist" not in props.get("FIXTURES_REQUIRED", []):
            problems.append(f"{test['name']}: does not require the mnist fixture")
    if gtests < 100:
        problems.append(f"only {gtests} GoogleTest cases listed")
    for p in problems[:10]:
        print("FAIL", p)
    print(f"{gtests} GoogleTest cases, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
