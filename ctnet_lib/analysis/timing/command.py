"""``ctnet benchmark``: the benchmark suite (modules, networks, data loading) in one command, as JSON."""

from __future__ import annotations

import argparse
import sys

from ctnet_lib.analysis.timing.benchmark_cases import GROUPS, SuiteSettings, suite_cases
from ctnet_lib.analysis.timing.benchmark_suite import run_suite
from ctnet_lib.devices import resolve_device


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="measure temporal modules, whole networks and data loading, each case in a fresh process",
        description="Latency, memory and throughput of the temporal modules at every ResNet-50 stage, of "
        "TSN/R(2+1)D/CSN/CT-Module/CT-Net-R50 in inference and training, and of video data loading; "
        "ratios to baselines measured in the same run and the performance targets, written as JSON.",
    )
    parser.add_argument("--out", help="JSON file to write (default: benchmarks/<device>.json)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="CPU intra-op threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement (default 5)")
    parser.add_argument("--batch-size", type=int, default=2, help="clips per call (default 2)")
    parser.add_argument("--only", nargs="+", choices=GROUPS, help="run only these groups of cases")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the case list this many times and keep each value's median (default 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the suite, measures nothing")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    settings = SuiteSettings(device=str(device), threads=args.threads, repeats=args.repeats,
                             batch_size=args.batch_size, quick=args.quick)
    cases = [case for case in suite_cases(settings) if not args.only or case.group in args.only]
    out = args.out or f"benchmarks/{device.type}.json"
    results = run_suite(settings, out, cases, log=lambda line: print(line, file=sys.stderr),
                        rounds=args.rounds)
    for target in results["targets"]:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        bound = ">=" if target["at_least"] else "<="
        print(f"{verdict:12s} {target['target']}: {target['measured']} ({bound} {target['limit']})")
    print(f"wrote {out} in {results['duration_s']:.0f} s")
    return 0
