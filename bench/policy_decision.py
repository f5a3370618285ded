"""Benchmark: a cached policy decision for a principal with 10 roles and 50 statements.

``policies.engine.decide`` on a built ``CompiledPolicySet`` (the PDP's per-version cache), asked the
same question over and over as a request path does, against two in-run baselines on an equivalent
policy set: AWS Cedar through cedarpy (``is_authorized``, which takes the policy text each call) and
pycasbin's FastEnforcer (RBAC with role inheritance). Per-call latencies are sampled one by one for
the median and p99; throughput rounds are interleaved with the baselines (bench._common).

Not like for like, in the baselines' favour: one decide() answers every column of the table with
row conditions and levels, while one Cedar or Casbin call answers one (principal, action, column).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench._common import Result, Sizes, interleaved, progress

NAME = "policy-decision"
ROLES = 10
STATEMENTS_PER_ROLE = 5
COLUMNS = 10
MEDIAN_TARGET_US = 10.0
SAMPLES = 20_000


def _schema() -> Any:
    from policies.language import SchemaInfo

    columns: dict[str, dict[str, object]] = {
        f"c{i}": {"encrypted": i % 2 == 0, "searchable": True, "default_redaction": "MASKED"} for i in range(COLUMNS)
    }
    columns["region"] = {"encrypted": False, "default_redaction": "PLAIN_TEXT"}
    return SchemaInfo.from_dict({"persons": columns})


def _statements(role: int) -> list[tuple[str, str, str]]:
    """(effect, column, kind) per statement: kind is 'plain', 'row' or 'context'."""
    out = []
    for k in range(STATEMENTS_PER_ROLE):
        column = f"c{(role + k) % COLUMNS}"
        effect = "DENY" if k == STATEMENTS_PER_ROLE - 1 else "ALLOW"
        kind = "context" if k == 3 else "row" if k == 4 else "plain"
        out.append((effect, column, kind))
    return out


def _vaultstudio_set() -> Any:
    from policies.engine import CompiledPolicySet
    from policies.language import compile_policy

    schema = _schema()
    compiled = []
    for role in range(ROLES):
        lines = []
        for effect, column, kind in _statements(role):
            where = {
                "plain": "",
                "row": f" WHERE persons.region = 'X{role}'",
                "context": " WHERE request.context.region = 'EU'",
            }[kind]
            level = " WITH REDACTION = PLAIN_TEXT" if effect == "ALLOW" else ""
            lines.append(f"{effect} READ ON persons.{column}{level}{where}")
        result = compile_policy("\n".join(lines), schema)
        if result.compiled is None:
            raise RuntimeError(f"bench policy does not compile: {result.errors}")
        compiled.append((f"role-{role}", result.compiled.to_json()))
    return CompiledPolicySet.build(compiled, schema)


def _cedar_policies() -> str:
    text = []
    for role in range(ROLES):
        for effect, column, kind in _statements(role):
            verb = "permit" if effect == "ALLOW" else "forbid"
            when = {
                "plain": "",
                "row": f' when {{ resource.region == "X{role}" }}',
                "context": ' when { context.region == "EU" }',
            }[kind]
            text.append(
                f'{verb}(principal in Role::"r{role}", action == Action::"READ", '
                f'resource == Column::"persons.{column}"){when};'
            )
    return "\n".join(text)


def _casbin_enforcer() -> Any:
    import casbin

    model = casbin.Enforcer.new_model(
        text="""
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act, eft
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""
    )
    enforcer_class = getattr(casbin, "FastEnforcer", casbin.Enforcer)
    enforcer = enforcer_class(model)
    for role in range(ROLES):
        for effect, column, kind in _statements(role):
            if kind == "row":
                # Casbin's RBAC model has no row attributes: a DENY that holds only on other rows'
                # region does not apply to the question asked, so the equivalent set leaves it out.
                continue
            enforcer.add_policy(f"r{role}", f"persons.{column}", "READ", "allow" if effect == "ALLOW" else "deny")
        enforcer.add_grouping_policy("sa", f"r{role}")
    return enforcer


def _latencies_us(call: Any, samples: int) -> tuple[float, float]:
    times = []
    clock = time.perf_counter_ns
    for _ in range(samples):
        start = clock()
        call()
        times.append(clock() - start)
    times.sort()
    return statistics.median(times) / 1000, times[int(len(times) * 0.99)] / 1000


def run(sizes: Sizes, backend: str) -> list[Result]:
    import cedarpy

    from policies.engine import Principal, decide

    policy_set = _vaultstudio_set()
    principal = Principal("sa")
    context = {"region": "EU"}
    cedar_text = _cedar_policies()
    cedar_entities = [
        {
            "uid": {"type": "User", "id": "sa"},
            "attrs": {},
            "parents": [{"type": "Role", "id": f"r{r}"} for r in range(ROLES)],
        }
    ] + [{"uid": {"type": "Role", "id": f"r{r}"}, "attrs": {}, "parents": []} for r in range(ROLES)]
    cedar_entities.append({"uid": {"type": "Column", "id": "persons.c1"}, "attrs": {"region": "EU"}, "parents": []})
    cedar_request = {
        "principal": 'User::"sa"',
        "action": 'Action::"READ"',
        "resource": 'Column::"persons.c1"',
        "context": context,
    }
    enforcer = _casbin_enforcer()

    def ours() -> Any:
        return decide(policy_set, principal, "READ", "persons", None, "PLAIN_TEXT", context)

    def cedar() -> Any:
        return cedarpy.is_authorized(cedar_request, cedar_text, cedar_entities)

    def casbin_() -> Any:
        return enforcer.enforce("sa", "persons.c1", "READ")

    if not ours().columns or not cedar().allowed or not casbin_():
        raise RuntimeError("The three engines must all allow the benchmark question.")

    samples = SAMPLES if sizes.rounds >= 10 else SAMPLES // 10
    progress(f"{backend}: sampling {samples} single decisions per engine")
    latency = {
        name: _latencies_us(fn, samples if name != "cedar" else samples // 20)
        for name, fn in (("ours", ours), ("cedar", cedar), ("casbin", casbin_))
    }

    def batch(fn: Any, count: int) -> Any:
        def subject() -> int:
            for _ in range(count):
                fn()
            return count

        return subject

    rates = interleaved(
        {"ours": batch(ours, 2000), "cedar": batch(cedar, 100), "casbin": batch(casbin_, 1000)}, sizes.rounds
    )
    note = (
        f"{ROLES} roles x {STATEMENTS_PER_ROLE} statements; decide() median {latency['ours'][0]:.1f} us, "
        f"p99 {latency['ours'][1]:.1f} us (target median <= {MEDIAN_TARGET_US:g} us, p99 <= 50 us); "
        f"cedarpy median {latency['cedar'][0]:.0f} us, p99 {latency['cedar'][1]:.0f} us; "
        f"pycasbin {type(enforcer).__name__} median {latency['casbin'][0]:.1f} us, p99 {latency['casbin'][1]:.1f} us"
    )
    return [
        Result(
            bench=NAME,
            label="policy decision (cached) vs cedarpy",
            backend=backend,
            unit="dec/s",
            runs=rates["ours"],
            baseline_label="(cedarpy is_authorized)",
            baseline_runs=rates["cedar"],
            target_kind="rate",
            target=1_000_000 / MEDIAN_TARGET_US,
            note=note,
        ),
        Result(
            bench=NAME,
            label="policy decision (cached) vs pycasbin",
            backend=backend,
            unit="dec/s",
            runs=rates["ours"],
            baseline_label=f"(pycasbin {type(enforcer).__name__})",
            baseline_runs=rates["casbin"],
            note="same decide() rounds as above, against pycasbin's rounds",
        ),
    ]
