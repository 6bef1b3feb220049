"""Benchmark: gridplan's partition engine against the peers of issue 3, and against the optimum.

Run with ``make bench``; writes ``tests/benchmarks/results/partition.md``.  One process, one contiguity
graph per data set (``build_contiguity_graph`` with the default gap; Kotka's roads as barriers), the same
households for every method, target 50 households, tolerance 0.2.  Peers:

- METIS k-way (pymetis, ``contiguous=True``), as many parts as gridplan makes grids;
- GerryChain ``recursive_tree_part`` with ``round(households / 50)`` parts, population target
  ``households / parts`` (≈ 50) and ε = 0.2;
- spopt max-p (``MaxPHeuristic``) with the lower bound 40 households, coordinates as attributes;
- spopt SKATER with as many regions as gridplan makes grids.

Data sets: Suzhou (3,076 buildings), a 500-building piece of it (so that the slow peers can finish)
and Kotka with its roads.

Each peer gets ``GRIDPLAN_BENCH_CAP`` seconds (default 120); one that fails or runs out of time is
reported as such.  On small connected pieces of the real data (at most 60 buildings) the balance
problem is also solved exactly with OR-Tools CP-SAT (connectivity by single-commodity flows) and
gridplan's gap to the optimum is reported.  Speed goals are measured here, never asserted.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import re
import signal
import time
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from partitioning.engine import partition
from partitioning.graph import DEFAULT_GAP, build_contiguity_graph, subgraph
from partitioning.metrics import partition_metrics, validate_partition

RESULTS = Path(__file__).parent / "results" / "partition.md"
TARGET, TOLERANCE = 50, 0.2
CAP = float(os.environ.get("GRIDPLAN_BENCH_CAP", "120"))
EXACT_CAP = float(os.environ.get("GRIDPLAN_BENCH_EXACT_CAP", "60"))
SECTIONS: dict[str, str] = {}


class _TimeUp(Exception):
    pass


@contextlib.contextmanager
def _time_cap(seconds):
    """Interrupt Python code running longer than ``seconds`` (SIGALRM; the main thread only)."""
    def _alarm(signum, frame):
        raise _TimeUp()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- the methods -----------------------------------------------------------------------------------------


def _gridplan(graph, n_grids):
    return partition(graph, target=TARGET, tolerance=TOLERANCE, seed=0).assignment


def _metis(graph, n_grids):
    import pymetis

    nodes = list(graph.nodes)
    index = {v: k for k, v in enumerate(nodes)}
    adjacency = [[index[u] for u in graph[v]] for v in nodes]
    vweights = [int(graph.nodes[v]["households"]) for v in nodes]
    options = pymetis.Options(seed=0)
    _, parts = pymetis.part_graph(n_grids, adjacency=adjacency, vweights=vweights, contiguous=True,
                                  options=options)
    return pd.Series([f"M{p}" for p in parts], index=nodes)


def _gerrychain(graph, n_grids):
    from gerrychain.graph import Graph
    from gerrychain.partition.initial_partition_generators import recursive_tree_part

    total = sum(h for _, h in graph.nodes(data="households"))
    parts = max(1, round(total / TARGET))
    plain = nx.Graph()
    plain.add_nodes_from((v, {"households": h}) for v, h in graph.nodes(data="households"))
    plain.add_edges_from(graph.edges)
    assignment = recursive_tree_part(Graph.from_networkx(plain), range(parts), total / parts, "households",
                                     TOLERANCE, rng=random.Random(0))
    return pd.Series({v: f"R{p}" for v, p in assignment.items()}).reindex(list(graph.nodes))


def _frame_and_weights(graph):
    import geopandas as gpd
    from libpysal.weights import W

    nodes = list(graph.nodes)
    frame = gpd.GeoDataFrame(
        {"households": [graph.nodes[v]["households"] for v in nodes],
         "x": [graph.nodes[v]["x"] for v in nodes], "y": [graph.nodes[v]["y"] for v in nodes]},
        geometry=gpd.points_from_xy([graph.nodes[v]["x"] for v in nodes], [graph.nodes[v]["y"] for v in nodes]),
        index=range(len(nodes)),
    )
    index = {v: k for k, v in enumerate(nodes)}
    w = W({index[v]: [index[u] for u in graph[v]] for v in nodes}, silence_warnings=True)
    return nodes, frame, w


def _maxp(graph, n_grids):
    from spopt.region import MaxPHeuristic

    nodes, frame, w = _frame_and_weights(graph)
    model = MaxPHeuristic(frame, w, ["x", "y"], "households", TARGET * (1 - TOLERANCE), top_n=2)
    model.solve()
    return pd.Series([f"P{p}" for p in model.labels_], index=nodes)


def _skater(graph, n_grids):
    from spopt.region import Skater

    nodes, frame, w = _frame_and_weights(graph)
    model = Skater(frame, w, ["x", "y"], n_clusters=n_grids, floor=1, trace=False, islands="increase")
    model.solve()
    return pd.Series([f"S{p}" for p in model.labels_], index=nodes)


METIS = "METIS k-way (pymetis, contig)"
METHODS = {
    "gridplan": _gridplan,
    METIS: _metis,
    "GerryChain recursive_tree_part": _gerrychain,
    "spopt max-p (threshold 40)": _maxp,
    "spopt SKATER": _skater,
}


def _run(name, fn, graph, n_grids):
    """(assignment or None, wall seconds, CPU seconds, note)."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        with warnings.catch_warnings(), _time_cap(CAP if name != "gridplan" else 10 * CAP):
            warnings.simplefilter("ignore")
            assignment = fn(graph, n_grids)
    except _TimeUp:
        assignment, note = None, f"stopped after {CAP:.0f} s"
    except Exception as exc:  # a peer that fails is reported, not fatal
        assignment, note = None, f"failed: {type(exc).__name__}: {str(exc)[:120]}"
    else:
        note = ""
    return assignment, time.perf_counter() - start, time.process_time() - cpu, note


# --- report ------------------------------------------------------------------------------------------------

COLUMNS = [
    ("grids", "n_grids"), ("hh min/med/max", None), ("within ±20 %", "share_within_tolerance"),
    ("within, reachable", "share_within_tolerance_reachable"), ("worst dev.", "worst_deviation"),
    ("oversize", "oversize_grids"), ("undersize", "undersize_grids"), ("mean dist. m", "mean_distance_m"),
    ("max diam. m", "max_diameter_m"), ("crossing grids", "barrier_crossing_grids"),
    ("disconnected", "disconnected_grids"), ("split bldgs", "split_buildings"),
    ("unassigned", "unassigned_buildings"), ("time s", "runtime_s"), ("CPU s", "cpu_s"),
]


def _cell(metrics, key):
    if key is None:
        return f"{metrics['households_min']}/{metrics['households_median']:g}/{metrics['households_max']}"
    value = metrics[key]
    if key.startswith("share"):
        return f"{100 * value:.1f} %"
    if isinstance(value, float):
        return f"{value:.2f}" if key in ("runtime_s", "cpu_s", "worst_deviation") else f"{value:.1f}"
    return str(value)


def _table(rows):
    head = "| method | " + " | ".join(c for c, _ in COLUMNS) + " | note |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, metrics, note in rows:
        if metrics is None:
            lines.append(f"| {name} | " + " | ".join("–" for _ in COLUMNS) + f" | {note} |")
        else:
            lines.append(f"| {name} | " + " | ".join(_cell(metrics, k) for _, k in COLUMNS) + f" | {note} |")
    return "\n".join(lines)


def _write():
    text = [
        "# Partition benchmark",
        "",
        f"Written by `make bench` (`tests/benchmarks/test_partition_bench.py`) on {platform.node()} "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Target {TARGET} households, tolerance "
        f"{TOLERANCE}; one contiguity graph per data set (gap {DEFAULT_GAP:g} m) shared by every method; "
        f"peers capped at {CAP:.0f} s. Columns are `partitioning.metrics.partition_metrics`: *within ±20 %* "
        "counts the grids that are not oversize; *reachable* also leaves out undersize grids (groups "
        "that cannot reach 40 households without crossing a boundary, e.g. sheds behind a tower); "
        "*crossing grids* hold an edge across a barrier; *split bldgs* counts overlapping footprints "
        "put in different grids. Times are the partition alone (the graph time is given above each "
        "table), wall clock and CPU of this process: the machine is shared, so CPU time is the fairer "
        "speed figure.",
        "",
    ]
    text += _with_earlier_sections([SECTIONS[k] for k in sorted(SECTIONS)])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text("\n".join(text) + "\n", encoding="utf-8")
    tmp.replace(RESULTS)


_KEPT = "*Kept from the run of {date}: this section was not run this time (`pytest -k`).*"


def _with_earlier_sections(sections: list[str]) -> list[str]:
    """``sections`` (this run's, each starting with its ``## `` heading) with the sections of the
    results file that this run did not make, in the file's order, each marked with the date it was
    measured: running one test (``pytest -k gap_to_optimum``) does not drop the others' tables."""
    if not RESULTS.exists():
        return sections
    earlier = RESULTS.read_text(encoding="utf-8")
    stamp = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", earlier)
    date = stamp.group(0) if stamp else "an earlier date"
    new = {sec.split("\n", 1)[0]: sec for sec in sections}
    merged = []
    for old in ("## " + part for part in earlier.split("\n## ")[1:]):
        heading = old.split("\n", 1)[0]
        if heading in new:
            merged.append(new.pop(heading))
        else:
            body = old.rstrip("\n") + "\n"
            merged.append(body if "*Kept from the run of" in body else f"{body}\n{_KEPT.format(date=date)}\n")
    return merged + list(new.values())


# --- real data sets ---------------------------------------------------------------------------------------


def _central_piece(graph, size):
    """The ``size`` buildings nearest (breadth-first) to the building closest to the households' centre."""
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    h = np.array([d["households"] for _, d in graph.nodes(data=True)], dtype=float)
    centre = h @ xy / h.sum()
    start = list(graph.nodes)[int(np.argmin(np.hypot(*(xy - centre).T)))]
    return subgraph(graph, list(nx.bfs_tree(graph, start))[:size])


@pytest.mark.parametrize("name", ["suzhou", "suzhou-500", "kotka"])
def test_partition_benchmark(name, request):
    data = name.split("-")[0]
    buildings = request.getfixturevalue(f"{data}_buildings")
    barriers = request.getfixturevalue("kotka_barriers") if data == "kotka" else None
    start, cpu = time.perf_counter(), time.process_time()
    graph = build_contiguity_graph(buildings, barriers=barriers)
    graph_s, graph_cpu = time.perf_counter() - start, time.process_time() - cpu
    if name == "suzhou-500":  # small enough for the slow peers to finish
        graph = _central_piece(graph, 500)

    rows, times, cpus = [], {}, {}
    assignment, seconds, cpu_s, note = _run("gridplan", _gridplan, graph, None)
    n_grids = assignment.nunique()
    for method, fn in METHODS.items():
        if method != "gridplan":
            assignment, seconds, cpu_s, note = _run(method, fn, graph, n_grids)
        times[method], cpus[method] = seconds, cpu_s
        metrics = None
        if assignment is not None:
            metrics = partition_metrics(graph, assignment, target=TARGET, tolerance=TOLERANCE, runtime_s=seconds)
            metrics["cpu_s"] = cpu_s
            problems = validate_partition(graph, assignment)
            if problems:
                note = f"{len(problems)} violation(s)"
            if method in (METIS, "spopt SKATER") and assignment.nunique() < n_grids:
                note = "; ".join(filter(None, [note, f"{n_grids - assignment.nunique()} of {n_grids} parts empty"]))
        rows.append((method, metrics, note))
        print(f"{name}: {method}: {seconds:.2f} s {note}", flush=True)

    total = sum(h for _, h in graph.nodes(data="households"))
    title = {"suzhou": "Suzhou", "kotka": "Kotka (roads as barriers)",
             "suzhou-500": "Suzhou, the 500 buildings around the centre (breadth-first in the graph)"}[name]
    metis_ratio = (f"METIS partition alone {times[METIS]:.2f} s ({cpus[METIS]:.2f} s CPU): gridplan's "
                   f"partition takes {cpus['gridplan'] / max(cpus[METIS], 1e-9):.0f}× METIS's CPU time"
                   if rows[1][1] is not None else "METIS failed")
    if name == "suzhou-500":
        summary = (f"Graph: cut from the Suzhou graph, {graph.number_of_edges():,} edges. gridplan partition "
                   f"{times['gridplan']:.2f} s ({cpus['gridplan']:.2f} s CPU); {metis_ratio}.")
    else:
        summary = (f"Graph: {graph.number_of_edges():,} edges, {graph.graph['n_components_before']} groups "
                   f"before joining islands, built in {graph_s:.2f} s ({graph_cpu:.2f} s CPU). gridplan graph + "
                   f"partition: **{graph_s + times['gridplan']:.2f} s** ({graph_cpu + cpus['gridplan']:.2f} s "
                   f"CPU); {metis_ratio}"
                   + (f", graph included {(graph_cpu + cpus['gridplan']) / max(cpus[METIS], 1e-9):.0f}×."
                      if rows[1][1] is not None else "."))
    lines = [
        f"## {title}: {graph.number_of_nodes():,} buildings, {total:,} households",
        "",
        summary,
        "",
        _table(rows),
        "",
    ]
    SECTIONS[{"suzhou": "1a", "suzhou-500": "1b", "kotka": "1c"}[name]] = "\n".join(lines)
    _write()
    gridplan_metrics = rows[0][1]
    assert gridplan_metrics["disconnected_grids"] == 0 and gridplan_metrics["split_buildings"] == 0
    assert gridplan_metrics["unassigned_buildings"] == 0


# --- exact optimum on small pieces ------------------------------------------------------------------------


def _exact(graph, k, time_limit):
    """Fewest grids outside the band, then least total |households − target|: CP-SAT with connectivity.

    Each grid has one root; every other member needs a net inflow of at least one unit of a flow that
    runs only on edges inside the grid, so every member is reached from the root.  Roots are the
    smallest member and ordered, which removes the symmetry between grid labels.
    """
    from ortools.sat.python import cp_model

    nodes = list(graph.nodes)
    n = len(nodes)
    index = {v: i for i, v in enumerate(nodes)}
    h = [int(graph.nodes[v]["households"]) for v in nodes]
    lo, hi = int(np.ceil(TARGET * (1 - TOLERANCE))), int(np.floor(TARGET * (1 + TOLERANCE)))
    m = cp_model.CpModel()
    x = [[m.new_bool_var(f"x{v}_{g}") for g in range(k)] for v in range(n)]
    r = [[m.new_bool_var(f"r{v}_{g}") for g in range(k)] for v in range(n)]
    for v in range(n):
        m.add_exactly_one(x[v])
    for g in range(k):
        m.add_exactly_one(r[v][g] for v in range(n))
        for v in range(n):
            m.add_implication(r[v][g], x[v][g])
            for u in range(v):
                m.add_implication(r[v][g], x[u][g].Not())  # the root is the smallest member
        if g:
            m.add(sum(v * r[v][g - 1] for v in range(n)) < sum(v * r[v][g] for v in range(n)))
    arcs = [(index[a], index[b]) for a, b in graph.edges] + [(index[b], index[a]) for a, b in graph.edges]
    for g in range(k):
        flow = {arc: m.new_int_var(0, n - 1, "") for arc in arcs}
        for (a, b), f in flow.items():
            m.add(f <= (n - 1) * x[a][g])
            m.add(f <= (n - 1) * x[b][g])
        for v in range(n):
            inflow = sum(f for (a, b), f in flow.items() if b == v)
            outflow = sum(f for (a, b), f in flow.items() if a == v)
            m.add(inflow - outflow >= x[v][g] - n * r[v][g])
    for a, b, o in graph.edges(data="overlap"):
        if o:
            for g in range(k):
                m.add(x[index[a]][g] == x[index[b]][g])
    big = sum(h)
    out, dev = [], []
    for g in range(k):
        load = sum(h[v] * x[v][g] for v in range(n))
        o = m.new_bool_var("")
        d = m.new_int_var(0, big, "")
        m.add(load <= hi + big * o)
        m.add(load >= lo - big * o)
        m.add(d >= load - TARGET)
        m.add(d >= TARGET - load)
        out.append(o)
        dev.append(d)
    m.minimize(10_000 * sum(out) + sum(dev))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = 0
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.status_name(status)
    labels = [next(g for g in range(k) if solver.value(x[v][g])) for v in range(n)]
    return pd.Series([f"X{g}" for g in labels], index=nodes), solver.status_name(status)


def _score(graph, assignment):
    hh = pd.Series(dict(graph.nodes(data="households"))).groupby(assignment).sum()
    lo, hi = TARGET * (1 - TOLERANCE), TARGET * (1 + TOLERANCE)
    return int((~hh.between(lo, hi)).sum()), int((hh - TARGET).abs().sum()), len(hh)


def _pieces(graph, count, size, rng):
    """``count`` connected pieces of about ``size`` buildings without oversize ones, grown breadth-first."""
    light = graph.subgraph([v for v, h in graph.nodes(data="households") if h <= TARGET * (1 + TOLERANCE)])
    nodes = list(light.nodes)
    pieces = []
    for start in rng.choice(len(nodes), size=4 * count, replace=False):
        piece = list(nx.bfs_tree(light, nodes[start]))[:size]
        total = sum(light.nodes[v]["households"] for v in piece)
        if len(piece) >= size // 2 and total >= 2 * TARGET:
            pieces.append(subgraph(light, piece))  # in BFS order: nx's view would list a set's
        if len(pieces) == count:
            break
    return pieces


def test_gap_to_optimum(request):
    pytest.importorskip("ortools")
    rng = np.random.default_rng(0)
    rows = []
    for name in ("suzhou", "kotka"):
        buildings = request.getfixturevalue(f"{name}_buildings")
        barriers = request.getfixturevalue("kotka_barriers") if name == "kotka" else None
        graph = build_contiguity_graph(buildings, barriers=barriers)
        for size in (20, 40, 60):
            for piece in _pieces(graph, 2, size, rng):
                start = time.perf_counter()
                plan = partition(piece, target=TARGET, tolerance=TOLERANCE, seed=0).assignment
                gp_s = time.perf_counter() - start
                gp = _score(piece, plan)
                start = time.perf_counter()
                best, status = _exact(piece, gp[2], EXACT_CAP)
                ex_s = time.perf_counter() - start
                ex = _score(piece, best) if best is not None else None
                rows.append((name, piece.number_of_nodes(), sum(h for _, h in piece.nodes(data="households")),
                             gp, gp_s, ex, ex_s, status))
                print(f"exact {name} {piece.number_of_nodes()}: gridplan {gp} exact {ex} {status} {ex_s:.1f} s",
                      flush=True)
    lines = [
        "## Gap to the optimum on small pieces",
        "",
        "Connected pieces of the real graphs (no oversize building), grown breadth-first from random "
        "buildings (seed 0). The exact model (OR-Tools CP-SAT, "
        f"{EXACT_CAP:.0f} s limit, 2 workers) gets gridplan's number of grids and minimises the grids "
        "outside 40–60 households, then the total |households − 50|; connectivity by single-commodity "
        "flows from one root per grid. *OPTIMAL* is proven; *FEASIBLE* is the best found in time.",
        "",
        "| data | buildings | households | grids | outside band: gridplan / exact | Σ\\|h−50\\|: gridplan / exact "
        "| within band: gridplan / exact | gridplan s | exact s | status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    gaps, close, wide = [], 0, []
    for name, n, total, gp, gp_s, ex, ex_s, status in rows:
        if ex is None:
            lines.append(f"| {name} | {n} | {total} | {gp[2]} | {gp[0]} / – | {gp[1]} / – | – | "
                         f"{gp_s:.2f} | {ex_s:.1f} | {status} |")
            continue
        share_gp, share_ex = 1 - gp[0] / gp[2], 1 - ex[0] / ex[2]
        gaps.append(share_ex - share_gp)
        if gp[1] <= 1.25 * ex[1]:  # issue 14's goal: Σ|h − 50| within 25 % of the exact optimum's
            close += 1
        else:
            wide.append(f"{name} {n} buildings: {gp[1]} against {ex[1]} ({status})")
        lines.append(f"| {name} | {n} | {total} | {gp[2]} | {gp[0]} / {ex[0]} | {gp[1]} / {ex[1]} | "
                     f"{100 * share_gp:.0f} % / {100 * share_ex:.0f} % | {gp_s:.2f} | {ex_s:.1f} | {status} |")
    if gaps:
        lines += ["", f"Largest gap in the share of grids within the band: {100 * max(gaps):.1f} points "
                  f"(mean {100 * float(np.mean(gaps)):.1f}) over {len(gaps)} pieces. Σ\\|h−50\\| within 25 % of the "
                  f"exact model's on {close} of {len(gaps)} pieces"
                  + (f"; not on: {'; '.join(wide)}." if wide else ".")]
    SECTIONS["2-exact"] = "\n".join(lines) + "\n"
    _write()
    assert rows
