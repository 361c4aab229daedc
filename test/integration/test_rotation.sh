#!/usr/bin/env bash
# A root rotation proven with Istio's own CA: three clusters (us home, eu, ap), a real
# istiod (pilot-discovery, ISTIO_MULTIROOT_MESH=true) in each, eastwest rotating the mesh
# root by request with a short overlap. The kubelet's Secret volume sync is played (the
# cacerts volume refreshed every 1, 2 and 4 seconds, swapped atomically as the kubelet
# does), so each istiod reloads what eastwest writes on its own, late, at its own moment.
#
# A sampler, about once a second from before the rotation until after it: each istiod's
# CA issues a fresh workload certificate (a CSR with a service-account token, as
# pilot-agent sends), and each one must verify against the trust bundle every OTHER
# istiod publishes (istio-ca-root-cert) at that moment; certificates issued before the
# rotation must verify the same way until the phase that drops the old root. The phase
# is read from the home cluster's record (the -next Secret), which eastwest writes
# before any member, so a sample's bundles are never newer than its phase.
#
# Every phase is sampled and killed in by construction, not by timing: a phase other than
# Overlap ends only when every istiod loaded that phase's cacerts, and the played kubelets
# load a version of cacerts only once the phase read after it (so the version's phase or a
# later one) has had a complete sample and its SIGKILL. The operator killed in Overlap is
# restarted half an overlap later, once Overlap has had its sample (dead, it cannot leave
# the phase), so a test that sees Overlap once, at any time in it, kills in it. The overlap's
# length is bracketed by every read of the phase, each logged with when it started and
# ended, so its bounds hold however the reads happen to be spaced.
#
# The operator is killed with SIGKILL once in every phase and restarted; the rotation
# must resume from its record in the home cluster and finish with one new root (the one
# every istiod publishes at the end), one new intermediate per member, the overlap waited
# from the phase's recorded start, one RootRotated Event, and no write afterwards.
#
# Three times: (1) the generated root, rotated by request; (2) the root, with under 2h
# left, put inside rootRenewBefore by a change of policy: it rotates on its own (trigger
# RootRenewal), once, and nothing is written after; (3) the mesh moves to a root of the
# user's, made with openssl (rootSecretRef, trigger RootSecretRefChanged): the same
# proof, and the user's key never copied into eastwest's Secrets, the user's Secret never
# written, the generated root's Secret (the old key) deleted.
#
# Prints PASS/FAIL lines and a "# test_rotation: ..." total, like the C tests.
set -uo pipefail
suite=test_rotation
# shellcheck source=test/integration/mesh_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/mesh_env.sh"

if [ ! -x "$EW_XDSPROBE" ] || [ ! -x "$EW_ISTIOD" ]; then
    echo "FAIL $suite/tools: xdsprobe or pilot-discovery not built (run hack/deps.sh)"
    echo "# $suite: 0 passed, 1 failed"
    exit 1
fi
cluster_sh() { bash "$root/hack/cluster.sh" "$@"; }
members=(us eu ap)
mesh=rot-mesh ns=eastwest-system overlap=20
spiffe=spiffe://corp.local/ns/rot/sa/rot
bg_pids=()
declare -A log_from # CLUSTER: the size of its istiod's log when a rotation began
stop_background() {
    touch "$tmp/stop"
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    bg_pids=()
}
on_exit() {
    stop_background
    [ -n "$op_pid" ] && kill -9 "$op_pid" 2>/dev/null
    op_pid=""
    # the chart's RBAC, applied without Helm, would stop a later "helm install"
    [ -s "$tmp/chart-rbac.yaml" ] && kc us delete -f "$tmp/chart-rbac.yaml" --ignore-not-found >/dev/null 2>&1
    cleanup
}
trap on_exit EXIT

# The operator as users install it (issue 31): the chart's ServiceAccount with exactly
# the chart's rendered RBAC in us (the home cluster, a member too), and in eu and ap the
# kubeconfig Secrets "kubectl eastwest link" makes (ServiceAccount eastwest-member with
# deploy/member/rbac.yaml). Run in-cluster with that ServiceAccount's token, as a pod
# would (see start_operator_in_cluster); no admin credentials anywhere.
chart="$root/charts/eastwest-operator"
sa=eastwest-operator
plugin="${EW_PLUGIN:-$root/build-asan/cmd/kubectl-eastwest/kubectl-eastwest}"
[ -x "$plugin" ] || plugin="$root/build/cmd/kubectl-eastwest/kubectl-eastwest"
export HELM_CONFIG_HOME="$tmp/helm/config" HELM_CACHE_HOME="$tmp/helm/cache" \
    HELM_DATA_HOME="$tmp/helm/data"
# install_chart_rbac: the chart's ServiceAccount, Roles, ClusterRole and bindings, as
# "helm template" renders them, applied to us (a run that stopped early left them: the
# apply replaces their rules).
install_chart_rbac() {
    "$EW_HELM" template eastwest "$chart" -n "$ns" --show-only templates/serviceaccount.yaml \
        --show-only templates/role.yaml --show-only templates/clusterrole.yaml >"$tmp/chart-rbac.yaml" 2>"$tmp/helm.err" &&
        kc us apply -f "$tmp/chart-rbac.yaml" >/dev/null
}
# link_members: "kubectl eastwest link" for eu and ap (Secrets eu-kubeconfig, ap-kubeconfig).
link_members() {
    local c
    for c in eu ap; do
        KUBECONFIG="$dir/us/kubeconfig:$dir/$c/kubeconfig" "$plugin" link "$c" --context "$c" \
            --home-context us >"$tmp/link-$c.out" 2>&1 || return 1
    done
}
# No Lease (a SIGKILLed leader's Lease would hold its successor for the Lease's duration,
# which is not what is tested here).
run_operator() {
    local sadir="$tmp/serviceaccount" server
    if [ ! -s "$sadir/token" ]; then
        mkdir -p "$sadir" "$tmp/home"
        kc us -n "$ns" create token "$sa" --duration=2h >"$sadir/token" || return 1
        cp "$dir/us/ca.crt" "$sadir/ca.crt"
        printf '%s' "$ns" >"$sadir/namespace"
    fi
    server=$(kc us config view --minify -o jsonpath='{.clusters[0].cluster.server}')
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env -u KUBECONFIG HOME="$tmp/home" EASTWEST_SERVICEACCOUNT_DIR="$sadir" \
        KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="${server##*:}" \
        "$operator" --namespace "$ns" --leader-elect=false \
        --metrics-bind-address "127.0.0.1:$port" --log-format json 2>>"$oplog" &
    op_pid=$!
    wait_for "operator ready" 30 curl -sf "http://127.0.0.1:$port/readyz"
}
kill9() {
    kill -9 "$op_pid" 2>/dev/null
    wait "$op_pid" 2>/dev/null
    op_pid=""
}

# pem_fps FILE: the SHA-256 fingerprints of the certificates in a PEM file, one per line.
pem_fps() {
    awk -v d="$tmp/fp.$BASHPID" 'BEGIN{n=0} /BEGIN CERTIFICATE/{n++; f=d "." n} n&&f{print > f} /END CERTIFICATE/{close(f); f=""}' "$1"
    local f
    for f in "$tmp/fp.$BASHPID".*; do
        [ -e "$f" ] || continue
        openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f
        rm -f "$f"
    done
}
# verify ROOTS CHAIN: the chain's first certificate against ROOTS, the rest untrusted.
verify() {
    local d="$tmp/vc.$BASHPID" out
    awk -v d="$d" 'BEGIN{n=0} /BEGIN CERTIFICATE/{n++; f=d "." n} n&&f{print > f} /END CERTIFICATE/{close(f); f=""}' "$2"
    cat "$d".[2-9] >"$d.rest" 2>/dev/null || : >"$d.rest"
    out=$(openssl verify -CAfile "$1" -untrusted "$d.rest" "$d.1" 2>&1)
    rm -f "$d".*
    [[ $out == *": OK" ]]
}
published() { kc "$1" -n istio-system get configmap istio-ca-root-cert -o jsonpath='{.data.root-cert\.pem}' 2>/dev/null; }
declare -A ca_port # CLUSTER: its istiod's CA port
issue() { # issue CLUSTER ROOTS OUT: a workload certificate from CLUSTER's istiod
    [ -n "${ca_port[$1]:-}" ] || ca_port[$1]=$(cluster_sh istiod-port "$1" ca)
    "$EW_XDSPROBE" csr --ca "127.0.0.1:${ca_port[$1]}" --root "$2" \
        --token-file "$tmp/token-$1" --cluster-id "$1" --spiffe "$spiffe" --timeout 5s >"$3" 2>"$3.err"
}
# phase_now [--key]: the phase recorded at home (the -next Secret's annotation); "" when
# no rotation runs (the Secret is NotFound). With --key, " key" after it when the Secret
# holds a tls.key. Fails when it cannot be read: another error, or a -next Secret without
# a phase. Each read is logged "START END PHASE|-" in $tmp/phases: the phase was PHASE at
# some moment between START and END.
phase_now() {
    local s e out key err="$tmp/phase.err.$BASHPID"
    s=$(date +%s.%N)
    if out=$(kc us -n "$ns" get secret "$mesh-root-ca-next" \
        -o jsonpath='{.metadata.name}/{.metadata.annotations.eastwest\.io/rotation-phase}/{.data.tls\.key}' 2>"$err"); then
        out=${out#*/}
        key=${out#*/}
        out=${out%%/*}
        [ -n "$out" ] || { rm -f "$err"; return 1; }
    elif grep -q '(NotFound)' "$err"; then out="" key=""
    else rm -f "$err"; return 1; fi
    rm -f "$err"
    e=$(date +%s.%N)
    echo "$s $e ${out:--}" >>"$tmp/phases"
    if [ "${1:-}" = --key ] && [ -n "$key" ]; then printf '%s key\n' "$out"; else printf '%s\n' "$out"; fi
}
# phase_done PHASE: PHASE had a complete sample and its SIGKILL (no rotation: nothing to wait for).
phase_done() { [ -z "$1" ] || { [ -e "$tmp/sampled.$1" ] && [ -e "$tmp/killed.$1" ]; }; }
status_field() { kc us get meshnetwork "$mesh" -o jsonpath="{.status.rootCA$1}"; }

# ---- the kubelet's Secret volume sync and the sampler, in the background ---------------
# kubelet_loop CLUSTER SECONDS: each member's kubelet syncs at its own pace, so the
# istiods reload at different moments, as they do in real clusters. A sync loads one
# version of cacerts, read before the phase: that version was written for the phase read
# or an earlier one (eastwest records a phase before it writes any member for it), and it
# is loaded only when that phase had its sample and its kill. A sync whose version was
# replaced meanwhile loads nothing (sync-cacerts --resource-version) and waits its turn;
# a version loaded already is not read again.
kubelet_loop() {
    local rv p synced=""
    until [ -e "$tmp/stop" ]; do
        if rv=$(kc "$1" -n istio-system get secret cacerts -o jsonpath='{.metadata.resourceVersion}' 2>/dev/null) &&
            [ -n "$rv" ] && [ "$rv" != "$synced" ] && p=$(phase_now) && phase_done "$p" &&
            cluster_sh sync-cacerts --resource-version "$rv" "$1" >/dev/null 2>&1; then
            synced=$rv
        fi
        sleep "$2"
    done
}
# One sample: the phase, every bundle, then a fresh certificate from every istiod, then the
# phase again. Lines: "T PHASE fresh|old C>O ok|FAIL BEFORE", "T PHASE inter C FP",
# "T PHASE bundle C FPS". PHASE, read last, is never older than the bundles (a check that
# the old root is still trusted uses it); BEFORE, read first, is never newer (a check
# that it is no longer trusted after the end uses that: bundles read just before the end
# may still hold it). A sample whose phase cannot be read is discarded (one line
# "T discarded"); else sample_phase is its PHASE.
sample() {
    local t c o phase before s="$tmp/s"
    t=$(date +%s.%N)
    sample_phase=""
    before=$(phase_now) || { echo "$t discarded"; return 1; }
    [ -z "$before" ] && { [ -e "$tmp/started" ] && before=after || before=before; }
    for c in "${members[@]}"; do published "$c" >"$s.bundle.$c" & done
    wait
    for c in "${members[@]}"; do issue "$c" "$s.bundle.$c" "$s.cert.$c" & done
    wait
    phase=$(phase_now) || { echo "$t discarded"; return 1; }
    [ -n "$phase" ] && touch "$tmp/started"
    [ -z "$phase" ] && { [ -e "$tmp/started" ] && phase=after || phase=before; }
    for c in "${members[@]}"; do
        echo "$t $phase bundle $c $(pem_fps "$s.bundle.$c" | sort | paste -sd, -)"
        echo "$t $phase inter $c $(sed -n '/BEGIN/,$p' "$s.cert.$c" | awk '/BEGIN CERT/{n++} n==2' | pem_fps /dev/stdin)"
        for o in "${members[@]}"; do
            [ "$c" = "$o" ] && continue
            if [ -s "$s.cert.$c" ] && verify "$s.bundle.$o" "$s.cert.$c"; then echo "$t $phase fresh $c>$o ok $before"
            else echo "$t $phase fresh $c>$o FAIL $before $(head -c 200 "$s.cert.$c.err" | tr '\n' ' ')"; fi
            if verify "$s.bundle.$o" "$tmp/old.$c"; then echo "$t $phase old $c>$o ok $before"
            else echo "$t $phase old $c>$o FAIL $before"; fi
        done
    done
    sample_phase=$phase sample_before=$before
}
# After each complete sample: "T end PHASE BEFORE", then the gate sampled.PHASE.
sampler_loop() {
    local t0
    until [ -e "$tmp/stop" ]; do
        t0=$(date +%s%N)
        if sample >>"$tmp/samples"; then
            echo "$(date +%s.%N) end $sample_phase $sample_before" >>"$tmp/samples"
            touch "$tmp/sampled.$sample_phase"
        fi
        python3 -c "import time; d=1-($(date +%s%N)-$t0)/1e9; d>0 and time.sleep(d)"
    done
}
# samples_at_least N PHASE [BEFORE]: N complete samples labelled PHASE (and BEFORE).
samples_at_least() {
    [ "$(awk -v p="$2" -v b="${3:-}" '$2=="end" && $3==p && (b=="" || $4==b)' "$tmp/samples" | wc -l)" -ge "$1" ]
}

# ---- setup: three members, each with its istiod on the mesh root -------------------------
if ! cluster_sh up "${members[@]}" >"$tmp/up.out" 2>&1; then
    fail setup/clusters "$(tail -n 5 "$tmp/up.out")"
    finish
fi
set_up_home
# A fresh mesh root: an earlier run's root Secret (kept: onDelete Retain) is not this run's.
kc us -n "$ns" delete secret "$mesh-root-ca" "$mesh-root-ca-next" --ignore-not-found >/dev/null 2>&1
for c in "${members[@]}"; do
    play_istiod "$c" corp.local "$mesh"
    kc "$c" -n istio-system delete secret cacerts istio-ca-secret --ignore-not-found >/dev/null 2>&1
    kc "$c" create namespace rot >/dev/null 2>&1
    kc "$c" -n rot create serviceaccount rot >/dev/null 2>&1
done
if install_chart_rbac; then pass setup/chart-rbac; else fail setup/chart-rbac "$(cat "$tmp/helm.err"; tail -n 5 "$tmp/chart-rbac.yaml")"; fi
if link_members; then pass setup/linked; else fail setup/linked "$(cat "$tmp"/link-*.out)"; fi
run_operator || fail setup/operator "not ready"
# Replaced whole when a run that stopped early left it (with its rotationRequest, policy
# or rootSecretRef patched in).
if kc us get meshnetwork "$mesh" >/dev/null 2>&1; then verb=replace; else verb=create; fi
kc us "$verb" -f - >/dev/null <<EOF
apiVersion: eastwest.io/v1alpha1
kind: MeshNetwork
metadata: {name: $mesh}
spec:
  meshID: $mesh
  trustDomain: corp.local
  certificateAuthority: {rotationOverlap: ${overlap}s, rootValidity: 2h, intermediateValidity: 1h, renewBefore: 10m}
  clusters:
  - {name: us, network: us-net, locality: us-east-1}
  - {name: eu, network: eu-net, locality: eu-west-1, kubeconfigSecretRef: {name: eu-kubeconfig}}
  - {name: ap, network: ap-net, locality: ap-south-1, kubeconfigSecretRef: {name: ap-kubeconfig}}
EOF
has_cacerts() { kc "$1" -n istio-system get secret cacerts >/dev/null 2>&1; }
for c in "${members[@]}"; do
    check "setup/$c-cacerts" 60 has_cacerts "$c"
    check "setup/$c-istiod" 60 restart_istiod "$c"
    kc "$c" -n rot create token rot --audience istio-ca --duration 1h >"$tmp/token-$c" 2>"$tmp/token.err" ||
        fail "setup/$c-token" "$(cat "$tmp/token.err")"
done
certs_issued() {
    kc us get meshnetwork "$mesh" -o json |
        jq -e '[.status.clusters[].conditions[] | select(.type=="CertificatesReady") | .reason] | length == 3 and all(. == "Issued")'
}
check setup/members-certificates-issued 60 certs_issued

# ---- a rotation, with a SIGKILL in every phase, and what the samples saw ------------------
# prove_rotation NAME START...: before-certificates from every istiod, the kubelets and
# the sampler started, START run (what starts the rotation), a SIGKILL in every phase;
# then the checks, named NAME/... (Events counted from their number before START: a
# MeshNetwork left by a run that stopped early keeps its uid and its Events).
prove_rotation() {
    local name=$1 c m p fp
    shift
    # The old root as every istiod publishes it, which the status must report: the checks
    # below compare the operator's records with what the istiods did, not with themselves.
    old_root_fp=$(status_field .sha256Fingerprint 2>/dev/null)
    for c in "${members[@]}"; do
        published "$c" >"$tmp/before.$c"
        fp=$(pem_fps "$tmp/before.$c" | paste -sd, -)
        if [ -n "$old_root_fp" ] && [ "$fp" = "$old_root_fp" ]; then pass "$name/setup/$c-istiod-publishes-the-root-in-status"; else
            fail "$name/setup/$c-istiod-publishes-the-root-in-status" "istiod publishes '$fp', status.rootCA '$old_root_fp'"; fi
        if issue "$c" "$tmp/before.$c" "$tmp/old.$c"; then pass "$name/setup/$c-issues-before"; else
            fail "$name/setup/$c-issues-before" "$(head -c 300 "$tmp/old.$c.err")"; fi
        log_from[$c]=$(stat -c %s "$dir/$c/logs/pilot-discovery.log" 2>/dev/null || echo 0)
    done
    rm -f "$tmp/stop" "$tmp/started" "$tmp/samples" "$tmp/kills" "$tmp/phases" "$tmp"/sampled.* "$tmp"/killed.*
    : >"$tmp/samples"
    : >"$tmp/kills"
    for m in us:1 eu:2 ap:4; do
        kubelet_loop "${m%%:*}" "${m##*:}" &
        bg_pids+=($!)
    done
    sampler_loop &
    bg_pids+=($!)
    # (the bounds only end a wait that the checks then fail: a sample can take many
    # seconds on a loaded machine)
    wait_for "samples before the rotation" 300 samples_at_least 3 before
    rotated0=$(events RootRotated) retired0=$(events RootRetired)
    "$@"
    killed="" new_fps="" triggers="" t_end=$((SECONDS + 600)) finished=0 overlap_seen="" keys=0 looks=0 overlap_up=0
    while [ "$SECONDS" -lt "$t_end" ]; do
        # The -next Secret as read (NotFound or an error is no look): never a key in it.
        if ! phase=$(phase_now --key); then
            sleep 0.3
            continue
        fi
        [ -n "$phase" ] && looks=$((looks + 1))
        [[ $phase == *" key" ]] && keys=$((keys + 1))
        phase=${phase% key}
        fp=$(kc us get meshnetwork "$mesh" -o jsonpath='{.status.rootCA.rotation.newSha256Fingerprint}/{.status.rootCA.rotation.trigger}' 2>/dev/null)
        [ -n "${fp%/*}" ] && [[ $new_fps != *"${fp%/*}"* ]] && new_fps="$new_fps ${fp%/*}"
        [ -n "${fp#*/}" ] && [[ $triggers != *"${fp#*/}"* ]] && triggers="$triggers ${fp#*/}"
        if [ -n "$phase" ] && [[ $killed != *" $phase"* ]]; then
            kill9
            echo "killed in $phase at $(date +%s.%N)" >>"$tmp/kills"
            killed="$killed $phase"
            touch "$tmp/killed.$phase"
            if [ "$phase" = Overlap ]; then
                # Dead, the operator cannot leave Overlap (which no kubelet holds): it is
                # restarted well into the overlap, where a restart that waited it again
                # would show, and once Overlap had its sample.
                overlap_seen=$SECONDS
                wait_for "the middle of the overlap, sampled" 300 overlap_restart_due
            fi
            run_operator || fail "$name/kill/restart-in-$phase" "not ready after the restart"
            # when the restarted operator was up, at the latest
            [ "$phase" = Overlap ] && overlap_up=$(date +%s.%N)
        fi
        # refused by the chart's RBAC (a write it lacks): it would hold until the old root expires
        if grep 'RootRotationWriteFailed' "$oplog" | grep -qi 'forbidden'; then
            fail "$name/rotation/no-write-refused" "$(grep 'RootRotationWriteFailed' "$oplog" | grep -m 1 -i 'forbidden' | head -c 500)"
            break
        fi
        if [ -z "$phase" ] && [ "$(status_field .lastRotation.retiredSha256Fingerprint)" = "$old_root_fp" ] &&
            [ -z "$(status_field .rotation.phase)" ]; then
            finished=1
            break
        fi
        sleep 0.3
    done
    if [ "$finished" = 1 ]; then pass "$name/rotation/finished"; else
        fail "$name/rotation/finished" "phase $(status_field .rotation.phase) after 600 s: $(status_field .rotation.waiting)"; fi
    for p in TrustBoth SignWithNew Overlap DropOld; do
        if [[ $killed == *" $p"* ]]; then pass "$name/kill/in-$p-resumed"; else
            fail "$name/kill/in-$p-resumed" "phase $p not seen by the test (killed in:$killed)"; fi
    done
    wait_for "samples after the rotation" 300 samples_at_least 3 after after
    stop_background
    check_samples "$name"
}

overlap_restart_due() { [ $((SECONDS - overlap_seen)) -ge $((overlap / 2)) ] && [ -e "$tmp/sampled.Overlap" ]; }

check_samples() {
    local name=$1 S="$tmp/samples" nsamples ndiscarded maxgap bad p k c both last inters new_fp retired lo hi log
    nsamples=$(awk '$2=="end"' "$S" | wc -l)
    ndiscarded=$(awk '$2=="discarded"' "$S" | wc -l)
    maxgap=$(awk '$2=="end"{if(p) {g=$1-p; if(g>m) m=g} p=$1} END{printf "%.1f", m}' "$S")
    # The overlap, from every read of the phase ("START END PHASE"): Overlap began after the
    # start of any read that saw SignWithNew and before the end of any that saw Overlap;
    # DropOld likewise. So it lasted at least LO (last Overlap read's start - first Overlap
    # read's end) and at most HI (first DropOld read's end - last SignWithNew read's start).
    # DropOld is due when the overlap (plus the second the record rounds up) has passed and
    # the operator killed in Overlap is up again (at OVERLAP_UP at the latest); it came at
    # least LATE seconds after that (last Overlap read's start - the latest it was due).
    read -r lo hi late < <(awk -v o="$overlap" -v up="$overlap_up" '$3=="SignWithNew" && $1>ws {ws=$1}
        $3=="Overlap" {if(!oe || $2<oe) oe=$2; if($1>os) os=$1}
        $3=="DropOld" && (!de || $2<de) {de=$2}
        END{if(ws && oe && os && de) {due=oe+o+1; if(up>due) due=up; printf "%.1f %.1f %.1f\n", os-oe, de-ws, os-due}
            else print "none none none"}' "$tmp/phases")
    echo "# $suite/$name: $nsamples samples ($ndiscarded discarded: the phase unreadable), at most ${maxgap}s apart;" \
        "the overlap between ${lo}s and ${hi}s, DropOld at least ${late}s after it was due; kills: $(tr '\n' ';' <"$tmp/kills")" >&2
    bad=$(grep ' fresh .* FAIL' "$S" | head -n 3)
    if [ -z "$bad" ] && [ "$nsamples" -ge 10 ]; then
        pass "$name/trust/fresh-certificates-trusted-by-every-other-member-in-every-sample"
    else fail "$name/trust/fresh-certificates-trusted-by-every-other-member-in-every-sample" "$nsamples samples; $bad"; fi
    for p in before TrustBoth SignWithNew Overlap DropOld after; do
        k=$(awk -v p="$p" '$2==p && $3=="fresh"' "$S" | wc -l)
        if [ "$k" -gt 0 ]; then pass "$name/trust/sampled-in-$p"; else fail "$name/trust/sampled-in-$p" "no sample in phase $p"; fi
    done
    bad=$(awk '$3=="old" && $5=="FAIL" && $2!="DropOld" && $2!="after"' "$S" | head -n 3)
    k=$(awk '$3=="old" && $2!="DropOld" && $2!="after"' "$S" | wc -l)
    if [ -z "$bad" ] && [ "$k" -gt 0 ]; then pass "$name/trust/certificates-from-before-trusted-until-DropOld"; else
        fail "$name/trust/certificates-from-before-trusted-until-DropOld" "$k samples before DropOld; the old root not trusted in: $bad"; fi
    bad=$(awk '$6=="after" && $3=="old" && $5=="ok"' "$S" | head -n 3)
    k=$(awk '$6=="after" && $3=="old"' "$S" | wc -l)
    if [ -z "$bad" ] && [ "$k" -gt 0 ]; then pass "$name/trust/certificates-from-before-untrusted-after"; else
        fail "$name/trust/certificates-from-before-untrusted-after" "$k samples read after the end; the old root still trusted in: $bad"; fi
    # Both roots published at some point by every istiod, the new one alone at the end: the
    # root the status reports.
    new_fp=$(status_field .sha256Fingerprint 2>/dev/null)
    for c in "${members[@]}"; do
        both=$(awk -v c="$c" -v o="$old_root_fp" -v n="$new_fp" 'o!="" && n!="" && $3=="bundle" && $4==c && index($5,o) && index($5,n)' "$S" | wc -l)
        last=$(awk -v c="$c" '$3=="bundle" && $4==c {b=$5} END{print b}' "$S")
        if [ "$both" -gt 0 ] && [ -n "$new_fp" ] && [ "$last" = "$new_fp" ]; then pass "$name/trust/$c-istiod-published-both-then-new-alone"; else
            fail "$name/trust/$c-istiod-published-both-then-new-alone" "samples with both: $both; last bundle: $last (new in status '$new_fp')"; fi
        inters=$(awk -v c="$c" '$3=="inter" && $4==c && $5!="" {print $5}' "$S" | uniq | sort -u | wc -l)
        if [ "$inters" = 2 ]; then pass "$name/once/$c-one-new-intermediate"; else
            fail "$name/once/$c-one-new-intermediate" "$inters distinct intermediates issued from in the samples"; fi
    done
    if [ -n "$old_root_fp" ] && [ "$old_root_fp" != "$new_fp" ] && [ "$(wc -w <<<"$new_fps")" = 1 ] && [ "${new_fps# }" = "$new_fp" ]; then
        pass "$name/once/one-new-root"
    else fail "$name/once/one-new-root" "old '$old_root_fp', new in status:$new_fps, now '$new_fp'"; fi
    retired=$(status_field .lastRotation.retiredSha256Fingerprint 2>/dev/null)
    if [ -n "$old_root_fp" ] && [ "$retired" = "$old_root_fp" ]; then pass "$name/rotation/status-records-retired-root"; else
        fail "$name/rotation/status-records-retired-root" "retired '$retired', old (as the istiods published it) '$old_root_fp'"; fi
    # The overlap: not shorter than configured, and counted from the recorded start
    # although the operator was killed in the middle of it (a restart that waited again
    # would enter DropOld at least half an overlap after it was due).
    if [ "$lo" != none ] && awk -v hi="$hi" -v late="$late" -v o="$overlap" 'BEGIN{exit !(hi >= o - 2 && late <= 6)}'; then
        pass "$name/rotation/overlap-waited-from-its-recorded-start"
    else fail "$name/rotation/overlap-waited-from-its-recorded-start" "between ${lo}s and ${hi}s, want ${overlap}s; DropOld at least ${late}s after it was due"; fi
    if [ -n "$rotated0" ] && [ -n "$retired0" ] && [ "$(events RootRotated)" = $((rotated0 + 1)) ] &&
        [ "$(events RootRetired)" = $((retired0 + 1)) ]; then pass "$name/once/one-RootRotated-one-RootRetired-event"
    else fail "$name/once/one-RootRotated-one-RootRetired-event" "RootRotated $(events RootRotated), RootRetired $(events RootRetired), before the rotation '$rotated0' and '$retired0'"; fi
    # istiod took every step of this rotation (its log since the rotation began) as a root
    # change it supports.
    for c in "${members[@]}"; do
        log=$(tail -c +$((${log_from[$c]:-0} + 1)) "$dir/$c/logs/pilot-discovery.log" 2>/dev/null)
        if grep -q "Updating new ROOT-CA" <<<"$log" && ! grep -qE "ROOT-CA not supported|Failed to update new Plug-in CA" <<<"$log"; then
            pass "$name/istiod/$c-accepted-every-step"
        else fail "$name/istiod/$c-accepted-every-step" "$(grep -E 'ROOT-CA|Plug-in CA' <<<"$log" | tail -n 3)"; fi
    done
    # Settled: the members' cacerts are not written again.
    no_write_for "$name/rotation/no-write-after-the-end" 5
}
# no_write_for NAME SECONDS [COMMAND...]: every member's cacerts read, SECONDS later read
# again at the same version (and COMMAND true). A read that fails is a failure.
no_write_for() {
    local name=$1 secs=$2 a b
    shift 2
    if ! a=$(rvs); then fail "$name" "cacerts unreadable at the start"; return; fi
    sleep "$secs"
    if ! b=$(rvs); then fail "$name" "cacerts unreadable after ${secs}s"; return; fi
    if [ "$a" = "$b" ] && { [ $# -eq 0 ] || "$@"; }; then pass "$name"; else
        fail "$name" "cacerts versions $a-> $b${*:+; $*: false}"; fi
}
uid=$(kc us get meshnetwork "$mesh" -o jsonpath='{.metadata.uid}')
events() {
    kc us get events -A --field-selector "reason=$1,involvedObject.uid=$uid" -o json |
        jq '[.items[] | .count // 1] | add // 0'
}
# rvs: every member's cacerts resourceVersion; fails when one cannot be read.
rvs() {
    local c v out=""
    for c in "${members[@]}"; do
        v=$(kc "$c" -n istio-system get secret cacerts -o jsonpath='{.metadata.resourceVersion}') && [ -n "$v" ] || return 1
        out="$out$v "
    done
    printf '%s\n' "$out"
}

# ---- 1: a generated root, rotated by request ------------------------------------------------
request_rotation() { # a value no earlier run handled
    kc us patch meshnetwork "$mesh" --type=merge -p '{"spec":{"certificateAuthority":{"rotationRequest":"r-'"$(date +%s%N)"'"}}}' >/dev/null
}
prove_rotation request request_rotation
if [ "${triggers# }" = RotationRequest ]; then pass request/trigger-RotationRequest; else
    fail request/trigger-RotationRequest "triggers seen:$triggers"; fi

# ---- 2: the root near its end: a policy puts it inside rootRenewBefore -----------------------
# The root has under 2h left (rootValidity 2h); rootRenewBefore 2h with rootValidity 4h puts
# it inside the window: it rotates on its own, once, to a root with 4h left, outside it.
renewal() {
    kc us patch meshnetwork "$mesh" --type=merge \
        -p '{"spec":{"certificateAuthority":{"rootValidity":"4h","rootRenewBefore":"2h"}}}' >/dev/null
}
prove_rotation renewal renewal
left=$(($(date -d "$(status_field .notAfter)" +%s) - $(date +%s)))
if [ "${triggers# }" = RootRenewal ] && [ "$left" -gt 13000 ]; then pass renewal/trigger-RootRenewal-new-root-outside-the-window; else
    fail renewal/trigger-RootRenewal-new-root-outside-the-window "triggers seen:$triggers; the new root has ${left}s left"; fi
rotated_once() { [ "$(events RootRotated)" = $((rotated0 + 1)) ]; }
no_write_for renewal/no-second-rotation-no-write-in-10s 10 rotated_once

# ---- 3: from the generated root to one of the user's (rootSecretRef) -------------------------
# The user's root, made with openssl as a platform team would; eastwest never writes it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -keyout "$tmp/corp.key" -out "$tmp/corp.crt" -subj "/O=corp/CN=corp mesh root" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
kc us -n "$ns" delete secret corp-root --ignore-not-found >/dev/null 2>&1
kc us -n "$ns" create secret tls corp-root --cert="$tmp/corp.crt" --key="$tmp/corp.key" >/dev/null
corp_rv=$(kc us -n "$ns" get secret corp-root -o jsonpath='{.metadata.resourceVersion}')
corp_fp=$(pem_fps "$tmp/corp.crt")
if [ -z "$corp_rv" ] || [ -z "$corp_fp" ]; then fail own-root/setup "Secret corp-root not created or unreadable"; fi
own_root() {
    kc us patch meshnetwork "$mesh" --type=merge -p '{"spec":{"certificateAuthority":{"rootSecretRef":{"name":"corp-root"}}}}' >/dev/null
}
prove_rotation own-root own_root
if [ "${triggers# }" = RootSecretRefChanged ] && [ "$(status_field .sha256Fingerprint)" = "$corp_fp" ]; then
    pass own-root/trigger-RootSecretRefChanged-to-the-users-root
else fail own-root/trigger-RootSecretRefChanged-to-the-users-root "triggers seen:$triggers; root $(status_field .sha256Fingerprint), want $corp_fp"; fi
if [ "$keys" = 0 ] && [ "$looks" -gt 0 ]; then pass own-root/users-key-never-copied; else
    fail own-root/users-key-never-copied "the -next Secret held tls.key in $keys of $looks looks"; fi
rv=$(kc us -n "$ns" get secret corp-root -o jsonpath='{.metadata.resourceVersion}')
if [ -n "$corp_rv" ] && [ "$rv" = "$corp_rv" ]; then
    pass own-root/users-secret-not-written
else fail own-root/users-secret-not-written "Secret corp-root at '$rv', was '$corp_rv'"; fi
if not_found us -n "$ns" secret "$mesh-root-ca"; then pass own-root/generated-key-deleted; else
    fail own-root/generated-key-deleted "Secret $mesh-root-ca (the old key) is still there, or unreadable: $(kc us -n "$ns" get secret "$mesh-root-ca" -o name 2>&1 | head -c 200)"; fi

# ---- as the chart's ServiceAccount, with the linked members' identities: nothing refused ----
who=$("$EW_KUBECTL" --server "https://127.0.0.1:$(cat "$dir/us/apiserver.port")" \
    --certificate-authority "$tmp/serviceaccount/ca.crt" --token "$(cat "$tmp/serviceaccount/token")" \
    auth whoami -o jsonpath='{.status.userInfo.username}' 2>&1)
if [ "$who" = "system:serviceaccount:$ns:$sa" ]; then pass identity/chart-serviceaccount; else
    fail identity/chart-serviceaccount "whoami: $who"; fi
if grep -qiE 'forbidden' "$oplog"; then fail identity/no-forbidden "$(grep -m 3 -iE 'forbidden' "$oplog" | head -c 600)"; else
    pass identity/no-forbidden; fi

# ---- leave the clusters as found -----------------------------------------------------------
kc us delete meshnetwork "$mesh" --timeout=60s >/dev/null 2>&1
for c in "${members[@]}"; do
    cluster_sh stop-istiod "$c" >/dev/null 2>&1
    kc "$c" -n istio-system delete secret cacerts --ignore-not-found >/dev/null 2>&1
done
kc us -n "$ns" delete secret "$mesh-root-ca" corp-root --ignore-not-found >/dev/null 2>&1
cluster_sh down ap >/dev/null 2>&1
finish
