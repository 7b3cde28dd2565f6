// k8s_validate.mjs: validates rendered Kubernetes manifests (the output of
// `kubectl kustomize deploy/k8s/overlays/<env>`), offline.
//
//   node k8s_validate.mjs --env dev|prod FILE.yaml...     one line per problem, exit 1 on any
//   node k8s_validate.mjs --self-test --env dev FILE.yaml  the rules' own test: FILE must pass,
//                                                          and each broken copy of it must fail
//
// Two layers:
//   1. schema: every object against the Kubernetes OpenAPI schema of its
//      apiVersion/kind (the validators of the npm package kubernetes-models, pinned
//      in package-lock.json); an apiVersion/kind it does not know is a problem;
//   2. our rules (docs/OPERATIONS.md "Deploy on Kubernetes"), each with an id that
//      the problem line starts with:
//      limits       every container has requests and limits of cpu and memory
//      probes       every container but a Job's has a readiness and a liveness probe; the
//                   broker's and each worker's run its own `pm-<daemon> --check ready|live`
//                   (a worker has no port: a probe of the process alone says nothing)
//      non-root     runAsNonRoot true and no runAsUser 0 (pod or container level)
//      hardening    allowPrivilegeEscalation false, readOnlyRootFilesystem, capabilities
//                   drop ALL, seccompProfile RuntimeDefault
//      grace        pod templates say terminationGracePeriodSeconds
//      refs         every Secret and ConfigMap (and key) named by env, envFrom, volumes
//                   exists in the render (optional references excepted)
//      selectors    every NetworkPolicy, Service, PodDisruptionBudget selects pods that
//                   exist; every NetworkPolicy peer podSelector too; HPAs target a workload
//      pdb          every Deployment and StatefulSet has a PodDisruptionBudget
//      brokers      PM_BROKER_ENDPOINTS lists exactly the replicas of StatefulSet pm-broker,
//                   by their stable names, through its headless Service
//      required     the platform's objects are all there (a Deployment per daemon, the
//                   broker StatefulSet, HPAs of pm-gateway and pm-tickets, default deny)
//      image-tag    prod: every image has a tag (or digest) and it is not `latest`
//      dev          dev: one replica each, autoscalers from 1
//      prod         prod: two replicas at least, autoscalers from 2, pod anti-affinity
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"]);
const DAEMONS = ["gateway", "tenants", "tickets", "billing", "notifications"];
const CHECKED = ["broker", "tenants", "tickets", "billing", "notifications"];   // probed by --check

function load (files) {
    const objs = [];
    for (const f of files) {
        for (const doc of parseAllDocuments (readFileSync (f, "utf8"))) {
            if (doc.errors.length)
                throw new Error (`${f}: ${doc.errors[0].message}`);
            const o = doc.toJS ();
            if (o !== null && o !== undefined)
                objs.push (o);
        }
    }
    return objs;
}

const id = (o) => `${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;
const ns = (o) => o?.metadata?.namespace ?? "default";

// ------------------------------------------------------------------ schema
const modules = new Map ();
async function schemaProblems (o) {
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string")
        return ["no apiVersion or kind"];
    const path = o.apiVersion;       // "apps/v1", or the core group's "v1"
    if (!modules.has (path)) {
        try {
            modules.set (path, await import (`kubernetes-models/${path}`));
        }
        catch {
            modules.set (path, null);
        }
    }
    const Model = modules.get (path)?.[o.kind];
    if (typeof Model !== "function")
        return [`unknown apiVersion/kind ${o.apiVersion} ${o.kind}`];
    // kustomize 4+ writes a long Secret value as a block of short lines; the
    // API server's base64 decoder (Go's) skips the line breaks, the schema's
    // "byte" format does not: check the value as the server reads it.
    if (o.kind === "Secret" && o.data && typeof o.data === "object") {
        o = { ...o, data: { ...o.data } };
        for (const [k, v] of Object.entries (o.data))
            if (typeof v === "string")
                o.data[k] = v.replace (/[\r\n]/g, "");
    }
    try {
        new Model (o).validate ();
        return [];
    }
    catch (e) {
        return [String (e.message).split ("\n").slice (0, 3).join ("; ")];
    }
}

// ------------------------------------------------------------------ helpers
function podTemplate (o) {
    if (o.kind === "Pod")
        return o;
    if (o.kind === "CronJob")
        return o.spec?.jobTemplate?.spec?.template;
    return o.spec?.template;
}

function selectorMatches (sel, labels) {
    if (!sel)
        return false;
    labels = labels ?? {};
    for (const [k, v] of Object.entries (sel.matchLabels ?? {}))
        if (labels[k] !== v)
            return false;
    for (const e of sel.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call (labels, e.key);
        if (e.operator === "In" && !(has && e.values.includes (labels[e.key])))
            return false;
        if (e.operator === "NotIn" && has && e.values.includes (labels[e.key]))
            return false;
        if (e.operator === "Exists" && !has)
            return false;
        if (e.operator === "DoesNotExist" && has)
            return false;
    }
    return true;
}

function imageTagOk (image) {
    if (typeof image !== "string" || image === "")
        return false;
    if (image.includes ("@sha256:"))
        return true;
    const last = image.split ("/").pop ();
    const i = last.lastIndexOf (":");
    return i > 0 && last.slice (i + 1) !== "latest" && last.slice (i + 1) !== "";
}

// ------------------------------------------------------------------ rules
export function ruleProblems (objs, env) {
    const out = [];
    const add = (o, rule, msg) => out.push (`${rule} ${id (o)}: ${msg}`);
    const byKind = (k) => objs.filter ((o) => o.kind === k);
    const find = (kind, name, namespace) =>
        objs.find ((o) => o.kind === kind && o.metadata?.name === name && ns (o) === namespace);
    const workloads = objs.filter ((o) => WORKLOADS.has (o.kind));
    const pods = workloads.map ((o) => ({ o, ns: ns (o), labels: podTemplate (o)?.metadata?.labels ?? {} }));
    const podsMatching = (sel, namespace) => pods.filter ((p) => p.ns === namespace && selectorMatches (sel, p.labels));

    for (const o of workloads) {
        const tpl = podTemplate (o);
        const spec = tpl?.spec;
        if (!spec) {
            add (o, "schema", "no pod template");
            continue;
        }
        const isJob = o.kind === "Job" || o.kind === "CronJob";
        const psc = spec.securityContext ?? {};
        if (o.kind !== "Pod" && !isJob && typeof spec.terminationGracePeriodSeconds !== "number")
            add (o, "grace", "the pod template does not set terminationGracePeriodSeconds");
        if (env === "prod" && (o.kind === "Deployment" || o.kind === "StatefulSet")
            && !spec.affinity?.podAntiAffinity)
            add (o, "prod", "no podAntiAffinity: its pods may all land on one node");
        const all = [...(spec.initContainers ?? []).map ((c) => [c, true]), ...(spec.containers ?? []).map ((c) => [c, false])];
        for (const [c, init] of all) {
            const where = `container ${c.name}`;
            const r = c.resources ?? {};
            for (const part of ["requests", "limits"])
                for (const res of ["cpu", "memory"])
                    if (r[part]?.[res] === undefined)
                        add (o, "limits", `${where} has no resources.${part}.${res}`);
            if (!init && !isJob) {
                if (!c.readinessProbe)
                    add (o, "probes", `${where} has no readinessProbe`);
                if (!c.livenessProbe)
                    add (o, "probes", `${where} has no livenessProbe`);
                const daemon = o.metadata?.name?.replace (/^pm-/, "");
                if (CHECKED.includes (daemon))
                    for (const [probe, mode] of [["readinessProbe", "ready"], ["livenessProbe", "live"]]) {
                        const cmd = c[probe]?.exec?.command ?? [];
                        if (!(cmd[0] ?? "").endsWith (`/pm-${daemon}`) || cmd[1] !== "--check" || cmd[2] !== mode)
                            add (o, "probes", `${where}: ${probe} is not pm-${daemon} --check ${mode}`);
                    }
            }
            const csc = c.securityContext ?? {};
            const nonRoot = csc.runAsNonRoot ?? psc.runAsNonRoot;
            const user = csc.runAsUser ?? psc.runAsUser;
            if (nonRoot !== true)
                add (o, "non-root", `${where}: runAsNonRoot is not true`);
            if (user === 0)
                add (o, "non-root", `${where}: runAsUser is 0`);
            if (csc.allowPrivilegeEscalation !== false)
                add (o, "hardening", `${where}: allowPrivilegeEscalation is not false`);
            if (csc.readOnlyRootFilesystem !== true)
                add (o, "hardening", `${where}: readOnlyRootFilesystem is not true`);
            if (!(csc.capabilities?.drop ?? []).includes ("ALL"))
                add (o, "hardening", `${where}: capabilities do not drop ALL`);
            if ((csc.seccompProfile ?? psc.seccompProfile)?.type !== "RuntimeDefault")
                add (o, "hardening", `${where}: seccompProfile is not RuntimeDefault`);
            if (env === "prod" && !imageTagOk (c.image))
                add (o, "image-tag", `${where}: image ${c.image ?? "(none)"} has no tag, or \`latest\``);
            // references from the environment
            for (const e of c.env ?? []) {
                const sk = e.valueFrom?.secretKeyRef;
                const ck = e.valueFrom?.configMapKeyRef;
                for (const [ref, kind] of [[sk, "Secret"], [ck, "ConfigMap"]]) {
                    if (!ref || ref.optional)
                        continue;
                    const t = find (kind, ref.name, ns (o));
                    if (!t)
                        add (o, "refs", `${where}: env ${e.name} names ${kind} ${ref.name}, which is not in the render`);
                    else
                    if (!(ref.key in (t.data ?? {})) && !(ref.key in (t.stringData ?? {})))
                        add (o, "refs", `${where}: env ${e.name} names key ${ref.key} of ${kind} ${ref.name}, which it does not have`);
                }
            }
            for (const ef of c.envFrom ?? []) {
                for (const [ref, kind] of [[ef.secretRef, "Secret"], [ef.configMapRef, "ConfigMap"]])
                    if (ref && !ref.optional && !find (kind, ref.name, ns (o)))
                        add (o, "refs", `${where}: envFrom names ${kind} ${ref.name}, which is not in the render`);
            }
        }
        for (const v of spec.volumes ?? []) {
            const refs = [];
            if (v.secret)
                refs.push ([v.secret.secretName, "Secret", v.secret.optional]);
            if (v.configMap)
                refs.push ([v.configMap.name, "ConfigMap", v.configMap.optional]);
            for (const s of v.projected?.sources ?? []) {
                if (s.secret)
                    refs.push ([s.secret.name, "Secret", s.secret.optional]);
                if (s.configMap)
                    refs.push ([s.configMap.name, "ConfigMap", s.configMap.optional]);
            }
            for (const [name, kind, optional] of refs)
                if (!optional && !find (kind, name, ns (o)))
                    add (o, "refs", `volume ${v.name} names ${kind} ${name}, which is not in the render`);
        }
    }

    // selectors
    for (const np of byKind ("NetworkPolicy")) {
        if (!podsMatching (np.spec?.podSelector ?? {}, ns (np)).length)
            add (np, "selectors", "its podSelector selects no pod of the render");
        for (const rule of [...(np.spec?.ingress ?? []).flatMap ((r) => r.from ?? []),
                            ...(np.spec?.egress ?? []).flatMap ((r) => r.to ?? [])])
            if (rule.podSelector && !rule.namespaceSelector && !podsMatching (rule.podSelector, ns (np)).length)
                add (np, "selectors", `a peer podSelector ${JSON.stringify (rule.podSelector)} selects no pod of the render`);
    }
    for (const s of byKind ("Service"))
        if (s.spec?.selector && !podsMatching ({ matchLabels: s.spec.selector }, ns (s)).length)
            add (s, "selectors", "its selector selects no pod of the render");
    const pdbs = byKind ("PodDisruptionBudget");
    for (const p of pdbs)
        if (!podsMatching (p.spec?.selector, ns (p)).length)
            add (p, "selectors", "its selector selects no pod of the render");
    for (const h of byKind ("HorizontalPodAutoscaler")) {
        const t = h.spec?.scaleTargetRef;
        if (!t || !find (t.kind, t.name, ns (h)))
            add (h, "selectors", `its scaleTargetRef ${t?.kind}/${t?.name} is not in the render`);
        else
        if (find (t.kind, t.name, ns (h)).spec?.replicas !== undefined)
            add (h, "selectors", `${t.kind}/${t.name} sets replicas: every apply would undo the autoscaler`);
        const min = h.spec?.minReplicas ?? 1;
        if (env === "dev" && min > 1)
            add (h, "dev", `minReplicas ${min}: dev runs one of each`);
        if (env === "prod" && min < 2)
            add (h, "prod", `minReplicas ${min}: prod runs two at least`);
    }
    for (const o of workloads.filter ((w) => w.kind === "Deployment" || w.kind === "StatefulSet")) {
        const labels = podTemplate (o)?.metadata?.labels ?? {};
        if (!pdbs.some ((p) => ns (p) === ns (o) && selectorMatches (p.spec?.selector, labels)))
            add (o, "pdb", "no PodDisruptionBudget selects its pods");
        const hpa = byKind ("HorizontalPodAutoscaler").some ((h) => h.spec?.scaleTargetRef?.name === o.metadata?.name
                                                               && h.spec?.scaleTargetRef?.kind === o.kind && ns (h) === ns (o));
        if (o.kind === "Deployment" && !hpa) {
            const n = o.spec?.replicas ?? 1;
            if (env === "dev" && n !== 1)
                add (o, "dev", `replicas ${n}: dev runs one of each`);
            if (env === "prod" && n < 2)
                add (o, "prod", `replicas ${n}: prod runs two at least`);
        }
    }

    // the brokers: the endpoint list names each replica of the StatefulSet, in order
    for (const cm of byKind ("ConfigMap")) {
        for (const key of ["PM_BROKER_ENDPOINTS", "PM_EVENTS_IN_ENDPOINTS", "PM_EVENTS_OUT_ENDPOINTS"]) {
            const list = cm.data?.[key];
            if (list === undefined)
                continue;
            const sts = find ("StatefulSet", "pm-broker", ns (cm));
            if (!sts) {
                add (cm, "brokers", `${key} is set but there is no StatefulSet pm-broker`);
                continue;
            }
            const svc = find ("Service", sts.spec?.serviceName, ns (cm));
            if (!svc || svc.spec?.clusterIP !== "None")
                add (sts, "brokers", `serviceName ${sts.spec?.serviceName} is not a headless Service of the render`);
            const n = sts.spec?.replicas ?? 1;
            const got = list.split (",").map ((s) => s.trim ());
            const hosts = got.map ((e) => /^tcp:\/\/([^:/]+):\d+$/.exec (e)?.[1]);
            const want = Array.from ({ length: n }, (_, i) => `pm-broker-${i}.${sts.spec?.serviceName}`);
            if (JSON.stringify (hosts) !== JSON.stringify (want))
                add (cm, "brokers", `${key} names ${JSON.stringify (hosts)}; StatefulSet pm-broker has ${n} replicas: ${JSON.stringify (want)}`);
        }
    }

    // the platform's objects
    const need = [...DAEMONS.map ((d) => ["Deployment", `pm-${d}`]), ["StatefulSet", "pm-broker"],
                  ["Service", "pm-broker"], ["Service", "pm-gateway"],
                  ["HorizontalPodAutoscaler", "pm-gateway"], ["HorizontalPodAutoscaler", "pm-tickets"],
                  ["NetworkPolicy", "pm-default-deny"]];
    for (const [kind, name] of need)
        if (!objs.some ((o) => o.kind === kind && o.metadata?.name === name))
            out.push (`required ${kind}/${name}: not in the render`);
    const deny = objs.find ((o) => o.kind === "NetworkPolicy" && o.metadata?.name === "pm-default-deny");
    if (deny && (Object.keys (deny.spec?.podSelector ?? {}).length
                 || !["Ingress", "Egress"].every ((t) => (deny.spec?.policyTypes ?? []).includes (t))))
        add (deny, "required", "the default deny must select every pod, for Ingress and Egress");
    return out;
}

export async function problems (objs, env) {
    const out = [];
    for (const o of objs)
        for (const p of await schemaProblems (o))
            out.push (`schema ${id (o)}: ${p}`);
    return out.concat (ruleProblems (objs, env));
}

// ------------------------------------------------------------------ self-test
// Each case breaks a copy of a render that passes and names the rule that must catch it.
const clone = (x) => JSON.parse (JSON.stringify (x));
const firstOf = (objs, kind, name) => objs.find ((o) => o.kind === kind && (!name || o.metadata?.name === name));
const cases = [
    ["limits", "a container without limits", (o) => { delete firstOf (o, "Deployment", "pm-tenants").spec.template.spec.containers[0].resources.limits; }],
    ["limits", "a container without a memory limit", (o) => { delete firstOf (o, "StatefulSet").spec.template.spec.containers[0].resources.limits.memory; }],
    ["refs", "a Secret that is missing", (o) => { o.splice (o.findIndex ((x) => x.kind === "Secret" && x.metadata.name.startsWith ("pm-db-billing")), 1); }],
    ["refs", "a key the Secret lacks", (o) => { const c = firstOf (o, "Deployment", "pm-gateway").spec.template.spec.containers[0]; c.env.find ((e) => e.valueFrom?.secretKeyRef).valueFrom.secretKeyRef.key = "NOPE"; }],
    ["refs", "a ConfigMap that is missing", (o) => { o.splice (o.findIndex ((x) => x.kind === "ConfigMap"), 1); }],
    ["refs", "a volume's Secret that is missing", (o) => { firstOf (o, "StatefulSet").spec.template.spec.volumes.find ((v) => v.secret).secret.secretName = "pm-bus-nobody"; }],
    ["probes", "no readiness probe", (o) => { delete firstOf (o, "Deployment", "pm-billing").spec.template.spec.containers[0].readinessProbe; }],
    ["probes", "no liveness probe", (o) => { delete firstOf (o, "Deployment", "pm-gateway").spec.template.spec.containers[0].livenessProbe; }],
    ["probes", "a worker probed by its process only", (o) => { firstOf (o, "Deployment", "pm-billing").spec.template.spec.containers[0].readinessProbe = { exec: { command: ["/bin/sh", "-c", "test -d /proc/1"] } }; }],
    ["probes", "another daemon's check", (o) => { firstOf (o, "StatefulSet", "pm-broker").spec.template.spec.containers[0].livenessProbe.exec.command[0] = "/usr/local/bin/pm-tickets"; }],
    ["non-root", "runAsNonRoot false", (o) => { firstOf (o, "Deployment", "pm-tickets").spec.template.spec.securityContext.runAsNonRoot = false; }],
    ["non-root", "a container as uid 0", (o) => { firstOf (o, "Deployment", "pm-tickets").spec.template.spec.containers[0].securityContext.runAsUser = 0; }],
    ["hardening", "a writable root file system", (o) => { firstOf (o, "Deployment", "pm-notifications").spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false; }],
    ["hardening", "capabilities kept", (o) => { firstOf (o, "Deployment", "pm-notifications").spec.template.spec.containers[0].securityContext.capabilities = {}; }],
    ["grace", "no terminationGracePeriodSeconds", (o) => { delete firstOf (o, "Deployment", "pm-tenants").spec.template.spec.terminationGracePeriodSeconds; }],
    ["selectors", "a NetworkPolicy that selects nothing", (o) => { firstOf (o, "NetworkPolicy", "pm-broker-ingress").spec.podSelector = { matchLabels: { "app.kubernetes.io/name": "pm-brokr" } }; }],
    ["selectors", "a NetworkPolicy peer that selects nothing", (o) => { firstOf (o, "NetworkPolicy", "pm-bus-egress").spec.egress[0].to[0].podSelector.matchLabels["app.kubernetes.io/name"] = "nobody"; }],
    ["selectors", "a Service that selects nothing", (o) => { firstOf (o, "Service", "pm-gateway").spec.selector = { app: "nothing" }; }],
    ["selectors", "an autoscaler without its target", (o) => { firstOf (o, "HorizontalPodAutoscaler", "pm-tickets").spec.scaleTargetRef.name = "pm-tickts"; }],
    ["selectors", "replicas on an autoscaled Deployment", (o) => { firstOf (o, "Deployment", "pm-gateway").spec.replicas = 1; }],
    ["pdb", "a Deployment without a disruption budget", (o) => { o.splice (o.findIndex ((x) => x.kind === "PodDisruptionBudget" && x.metadata.name === "pm-billing"), 1); }],
    ["brokers", "endpoints out of step with the replicas", (o) => { firstOf (o, "StatefulSet", "pm-broker").spec.replicas = 3; }],
    ["brokers", "an endpoint that is no replica", (o) => { const cm = firstOf (o, "ConfigMap"); cm.data.PM_BROKER_ENDPOINTS = "tcp://pm-broker:5555"; }],
    ["required", "a daemon missing", (o) => { o.splice (o.findIndex ((x) => x.kind === "Deployment" && x.metadata.name === "pm-notifications"), 1); }],
    ["schema", "a wrong type", (o) => { firstOf (o, "Deployment", "pm-tenants").spec.replicas = "two"; }],
    ["schema", "a required field missing", (o) => { delete firstOf (o, "Deployment", "pm-tenants").spec.template.spec.containers[0].name; }],
    ["schema", "an unknown kind", (o) => { o.push ({ apiVersion: "v1", kind: "Gadget", metadata: { name: "x" } }); }],
    ["dev", "two replicas in dev", (o) => { firstOf (o, "Deployment", "pm-billing").spec.replicas = 2; }, "dev"],
    ["dev", "an autoscaler from 2 in dev", (o) => { firstOf (o, "HorizontalPodAutoscaler", "pm-gateway").spec.minReplicas = 2; }, "dev"],
    ["image-tag", "`latest` in prod", (o) => { firstOf (o, "Deployment", "pm-gateway").spec.template.spec.containers[0].image = "pm-platform:latest"; }, "prod"],
    ["image-tag", "an untagged image in prod", (o) => { firstOf (o, "StatefulSet").spec.template.spec.containers[0].image = "registry.example.com/pm/pm-platform"; }, "prod"],
    ["prod", "no anti-affinity in prod", (o) => { delete firstOf (o, "StatefulSet").spec.template.spec.affinity; }, "prod"],
    ["prod", "one replica in prod", (o) => { firstOf (o, "Deployment", "pm-tenants").spec.replicas = 1; }, "prod"],
];

async function selfTest (objs, env) {
    let passed = 0, failed = 0;
    const base = await problems (objs, env);
    if (base.length) {
        console.log (`FAIL - the unbroken ${env} render has problems:\n  ${base.join ("\n  ")}`);
        failed++;
    }
    else
        passed++;
    for (const [rule, what, breakIt, only] of cases) {
        if (only && only !== env)
            continue;
        const copy = clone (objs);
        breakIt (copy);
        const got = await problems (copy, env);
        if (got.some ((p) => p.startsWith (rule + " "))) {
            passed++;
            console.log (`ok - ${env}: ${what} -> ${got.find ((p) => p.startsWith (rule + " "))}`);
        }
        else {
            failed++;
            console.log (`FAIL - ${env}: ${what}: no \`${rule}\` problem (got: ${got.join ("; ") || "none"})`);
        }
    }
    console.log (`${passed} passed, ${failed} failed`);
    return failed === 0;
}

// ------------------------------------------------------------------ main
async function main (argv) {
    let env = null, self = false;
    const files = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--env")
            env = argv[++i];
        else
        if (argv[i] === "--self-test")
            self = true;
        else
            files.push (argv[i]);
    }
    if (!["dev", "prod"].includes (env) || !files.length) {
        console.error ("usage: node k8s_validate.mjs [--self-test] --env dev|prod FILE.yaml...");
        return 2;
    }
    let objs;
    try {
        objs = load (files);
    }
    catch (e) {
        console.log (`FAIL - cannot read the render: ${e.message}`);
        return 1;
    }
    if (self)
        return (await selfTest (objs, env)) ? 0 : 1;
    const got = await problems (objs, env);
    for (const p of got)
        console.log (p);
    const kinds = {};
    for (const o of objs)
        kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
    console.log (`${got.length ? "FAIL" : "ok"} - ${env}: ${objs.length} objects (${Object.entries (kinds).map (([k, n]) => `${n} ${k}`).join (", ")}), ${got.length} problems`);
    return got.length ? 1 : 0;
}

process.exitCode = await main (process.argv.slice (2));
