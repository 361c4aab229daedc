#!/usr/bin/env python3
"""least_privilege.py: every RBAC rule eastwest grants was needed; nothing was refused.

Reads the kube-apiserver audit logs (hack/cluster.sh: level Metadata, the requests of
eastwest's two identities only) and the RBAC objects of each identity (a JSON List: the
chart's rendered Roles and ClusterRole for the operator's ServiceAccount,
deploy/member/rbac.yaml for eastwest-member). Prints PASS/FAIL lines (the suite's).

A unit is one verb on one resource of one rule (with its resourceNames) of one role.
A request NEEDS a unit when that unit is the only one of the identity's units that
authorizes it: without the unit the request is refused. A server-side apply that
created its object (patch answered 201) needs create too (the API server authorizes a
create then). A unit that no request of the operator itself (user agent eastwest/)
needed fails, naming it: the rule goes, or a test exercising it is missing. Requests
by tests (kubectl with the same identity, to show a refusal) never count as a need.

A request of either identity answered 403 fails, unless it is in ALLOWED_403: a refusal
a test provokes on purpose, each with the test and the reason; or the same request of
the request of the operator came within RETRY_SECONDS of its API server's (re)start
(hack/cluster.sh marks each start in the audit log: a fresh kube-apiserver refuses
requests for a moment, until its RBAC cache is filled), or the same request of the
operator was authorized within RETRY_SECONDS after it (a refusal by the RBAC repeats).

Usage: least_privilege.py SUITE IDENTITY=RBAC.json... -- AUDIT.log...
"""
import datetime
import json
import sys

OPERATOR_AGENT = "eastwest/"
RETRY_SECONDS = 30

# Answers of the resource's own handler, after authorization: NotFound, Conflict (an
# AlreadyExists or a resourceVersion conflict), Invalid.
HANDLER_CODES = (404, 409, 422)

# (user, verb, resource, namespace, name, user agent prefix): a 403 a test provokes.
ALLOWED_403 = [
    # test_chart rbac/token-refused-kube-system-secrets: the chart's token, on the wire,
    # is refused another namespace's Secrets.
    ("system:serviceaccount:eastwest-system:eastwest-operator", "list", "secrets",
     "kube-system", "", "kubectl"),
    # test_plugin rbac/member-reads-no-other-istio-secret: the linked identity reads no
    # Secret of the Istio namespace but cacerts.
    ("system:serviceaccount:eastwest-system:eastwest-member", "get", "secrets",
     "istio-system", "not-eastwests", "kubectl"),
    # test_plugin rbac/member-lists-no-istio-secrets: nor lists them without naming cacerts.
    ("system:serviceaccount:eastwest-system:eastwest-member", "list", "secrets",
     "istio-system", "", "kubectl"),
]


def units_of(rbac):
    """The identity's units: (role kind/ns/name, rule index, group, resource, verb,
    resourceNames tuple, namespace or None for cluster-wide)."""
    units = []
    for obj in rbac.get("items", []):
        kind = obj.get("kind")
        if kind not in ("Role", "ClusterRole"):
            continue
        meta = obj.get("metadata", {})
        ns = meta.get("namespace") if kind == "Role" else None
        role = f"{kind} {ns + '/' if ns else ''}{meta.get('name')}"
        for i, rule in enumerate(obj.get("rules") or []):
            names = tuple(rule.get("resourceNames") or ())
            for g in rule.get("apiGroups") or []:
                for r in rule.get("resources") or []:
                    for v in rule.get("verbs") or []:
                        units.append((role, i, g, r, v, names, ns))
    return units


def authorizes(unit, verb, group, resource, ns, name):
    _, _, g, r, v, names, uns = unit
    if v not in (verb, "*") or g not in (group, "*") or r not in (resource, "*"):
        return False
    if uns is not None and uns != ns:
        return False
    return not names or name in names


def unit_name(unit):
    role, i, g, r, v, names, _ = unit
    res = f"{g or 'core'}/{r}" + (f"[{','.join(names)}]" if names else "")
    return f"{role} rule {i}: {v} {res}"


def when(ev):
    t = (ev.get("requestReceivedTimestamp") or ev.get("stageTimestamp", "")).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(t).timestamp()
    except ValueError:
        return 0.0


def main():
    args = sys.argv[1:]
    suite = args.pop(0)
    sep = args.index("--")
    identities = {}
    for a in args[:sep]:
        user, path = a.split("=", 1)
        with open(path) as f:
            identities[user] = units_of(json.load(f))
    logs = args[sep + 1:]
    needed = {u: {} for u in identities}  # user -> unit -> a request that needed it
    refused, authorized, seen = [], {}, 0
    for path in logs:
        starts = []  # this API server's (re)starts
        with open(path) as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("kind") == "ApiserverStart":
                    starts.append(when(ev))
                    continue
                user = ev.get("user", {}).get("username")
                # a watch is authorized when it starts: it may still be open (no
                # ResponseComplete yet) when this suite runs
                if user not in identities or ev.get("stage") not in ("ResponseStarted", "ResponseComplete"):
                    continue
                seen += 1
                ref = ev.get("objectRef") or {}
                code = (ev.get("responseStatus") or {}).get("code", 0)
                verb = ev.get("verb")
                resource = ref.get("resource", "")
                if ref.get("subresource"):
                    resource += "/" + ref["subresource"]
                group, ns, name = ref.get("apiGroup", ""), ref.get("namespace", ""), ref.get("name", "")
                agent = ev.get("userAgent", "")
                what = f"{verb} {group or 'core'}/{resource} {ns + '/' if ns else ''}{name}"
                key = (user, what, agent.split(" ")[0])
                if code == 403:
                    ok = any(user == u and verb == v and resource == r and ns == n and name == nm
                             and agent.startswith(a) for u, v, r, n, nm, a in ALLOWED_403)
                    t = when(ev)
                    fresh = agent.startswith(OPERATOR_AGENT) and any(
                        st <= t <= st + RETRY_SECONDS for st in starts)
                    if not ok and not fresh:
                        refused.append((key, t, ev.get("requestReceivedTimestamp")))
                    continue
                # answered by the resource's handler, so authorized first: a success, and the
                # handler's refusals (a get of an object that is not there, say: the read by
                # name before a first write, lib/mesh/foreign.c), not 401/403 or a 429 of
                # priority and fairness, which come before authorization
                handled = code < 400 or code in HANDLER_CODES
                if handled:
                    authorized.setdefault(key, []).append(when(ev))
                if not ref or not handled or not agent.startswith(OPERATOR_AGENT):
                    continue
                verbs = [verb] + (["create"] if verb == "patch" and code == 201 else [])
                for v in verbs:
                    by = [u for u in identities[user] if authorizes(u, v, group, resource, ns, name)]
                    if len(by) == 1:
                        needed[user].setdefault(by[0], f"{v}: {what}")
    refused = [f"{k[0]}: {k[1]} ({k[2]}) at {stamp}" for k, t, stamp in refused
               if not (k[2].startswith(OPERATOR_AGENT) and
                       any(t < a <= t + RETRY_SECONDS for a in authorized.get(k, [])))]
    passed = failed = 0

    def report(ok, test, why):
        nonlocal passed, failed
        if ok:
            print(f"PASS {suite}/{test}")
            passed += 1
        else:
            print(f"FAIL {suite}/{test}: {why}")
            failed += 1

    report(seen > 0, "audit/requests-seen",
           f"no request of {', '.join(identities)} in {len(logs)} audit log(s)")
    for user, units in identities.items():
        short = user.rsplit(":", 1)[-1]
        for u in units:
            test = f"needed/{short}/{unit_name(u)}".replace(" ", "_")
            others = [unit_name(o) for o in units
                      if o is not u and authorizes(o, u[4], u[2], u[3], u[6] or "", u[5][0] if u[5] else "")]
            why = "no request of the operator needed it" + (
                f" (what it grants is also granted by: {'; '.join(others)})" if others else "")
            report(u in needed[user], test, why)
    report(not refused, "no-request-refused",
           f"{len(refused)} refused: " + "; ".join(refused[:8]))
    print(f"# {suite}: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
