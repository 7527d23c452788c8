{{/* Names, labels and the settings both Deployments derive from the values. */}}

{{- define "molt-lms.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The proxies' Deployment and Service; the orchestrator's add "-orchestrator". */}}
{{- define "molt-lms.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "molt-lms.orchestratorName" -}}
{{- printf "%s-orchestrator" (include "molt-lms.fullname" .) }}
{{- end }}

{{- define "molt-lms.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "molt-lms.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Labels common to every object. */}}
{{- define "molt-lms.labels" -}}
helm.sh/chart: {{ include "molt-lms.chart" . }}
app.kubernetes.io/name: {{ include "molt-lms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: molt-lms
{{- end }}

{{/* Selector labels; call with (dict "ctx" $ "component" "lms"|"orchestrator"). */}}
{{- define "molt-lms.selectorLabels" -}}
app.kubernetes.io/name: {{ include "molt-lms.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "molt-lms.tokenSecretName" -}}
{{- .Values.controlPlane.token.secretName | default (printf "%s-control-token" (include "molt-lms.fullname" .)) }}
{{- end }}

{{/* Whether an env list (a values list of {name, ...}) sets the variable .name. */}}
{{- define "molt-lms.envHas" -}}
{{- $found := false }}
{{- range .env }}{{ if eq .name $.name }}{{ $found = true }}{{ end }}{{ end }}
{{- if $found }}true{{ end }}
{{- end }}

{{/* "true" when the orchestrator serves HTTPS: TLS from controlPlane.tls, or ORCH_TLS_CERT in orchestrator.env. */}}
{{- define "molt-lms.orchestratorTLS" -}}
{{- if or .Values.controlPlane.tls.enabled (include "molt-lms.envHas" (dict "env" .Values.orchestrator.env "name" "ORCH_TLS_CERT")) }}true{{ end }}
{{- end }}

{{/* The URL the proxies register at. */}}
{{- define "molt-lms.orchestratorUrl" -}}
{{- if .Values.lms.orchestratorUrl }}
{{- .Values.lms.orchestratorUrl }}
{{- else }}
{{- printf "%s://%s.%s.svc:%v" (ternary "https" "http" (eq (include "molt-lms.orchestratorTLS" .) "true")) (include "molt-lms.orchestratorName" .) .Release.Namespace .Values.orchestrator.service.port }}
{{- end }}
{{- end }}

{{/*
Environment: the chart's own entries (.own), then the user's (.user); an own entry whose
name the user also sets is left out, so that no name appears twice.
*/}}
{{- define "molt-lms.env" -}}
{{- $user := .user }}
{{- range .own }}
{{- if not (include "molt-lms.envHas" (dict "env" $user "name" .name)) }}
- {{ toYaml . | nindent 2 | trim }}
{{- end }}
{{- end }}
{{- with $user }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Container security settings shared by both Deployments. */}}
{{- define "molt-lms.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{- define "molt-lms.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Refusals of combinations the schema cannot express, each with what to change. */}}
{{- define "molt-lms.validate" -}}
{{- $cp := .Values.controlPlane }}
{{- if and $cp.tls.enabled (or (not $cp.tls.orchestratorSecretName) (not $cp.tls.lmsSecretName)) }}
{{- fail "controlPlane.tls.enabled needs controlPlane.tls.orchestratorSecretName and controlPlane.tls.lmsSecretName (Secrets with tls.crt, tls.key and ca.crt)" }}
{{- end }}
{{- if and $cp.token.enabled (not $cp.token.create) (not $cp.token.secretName) }}
{{- fail "controlPlane.token.create is false: set controlPlane.token.secretName to the Secret that holds the token" }}
{{- end }}
{{- $orchMtls := include "molt-lms.envHas" (dict "env" .Values.orchestrator.env "name" "ORCH_CA_TLS_CERT") }}
{{- if not (or $cp.token.enabled $cp.tls.enabled $cp.insecure $orchMtls) }}
{{- fail "the control plane has no credentials: enable controlPlane.token or controlPlane.tls (or set controlPlane.insecure: true for a throwaway cluster)" }}
{{- end }}
{{- if and .Values.orchestrator.sourceDialect (ne .Values.orchestrator.sourceDialect .Values.lms.sourceDialect) }}
{{- fail (printf "orchestrator.sourceDialect (%s) differs from lms.sourceDialect (%s): the orchestrator has no dialect of its own, the proxies' dialect is lms.sourceDialect" .Values.orchestrator.sourceDialect .Values.lms.sourceDialect) }}
{{- end }}
{{- $l := .Values.lms }}
{{- if lt (int $l.terminationGracePeriodSeconds) (add $l.preStopSleepSeconds $l.shutdownTimeoutSeconds 10 | int) }}
{{- fail (printf "lms.terminationGracePeriodSeconds (%v) must be at least lms.preStopSleepSeconds + lms.shutdownTimeoutSeconds + 10 (%v), or proxies are killed before they drain" $l.terminationGracePeriodSeconds (add $l.preStopSleepSeconds $l.shutdownTimeoutSeconds 10)) }}
{{- end }}
{{- $pdb := $l.podDisruptionBudget }}
{{- if and $pdb.enabled (eq (kindIs "invalid" $pdb.maxUnavailable) (kindIs "invalid" $pdb.minAvailable)) }}
{{- fail "lms.podDisruptionBudget: set exactly one of maxUnavailable and minAvailable (the other null)" }}
{{- end }}
{{- end }}
