{{/*
egress.name: the chart name, cut to 63 characters (a label value's limit).
*/}}
{{- define "egress.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
egress.chart: name-version for the helm.sh/chart label; never used in a selector.
*/}}
{{- define "egress.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
egress.objectName: an object's name from its key in values, cut to 63 characters.
The schema already restricts keys to DNS-1123 labels; the cut is a last guard.
*/}}
{{- define "egress.objectName" -}}
{{- . | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
egress.selectorLabels: the stable labels (name and instance) that select objects.
*/}}
{{- define "egress.selectorLabels" -}}
app.kubernetes.io/name: {{ include "egress.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
egress.labels: every object's labels. egressctl.io/owned marks what egressctl owns
and may prune; nothing without it is ever deleted.
*/}}
{{- define "egress.labels" -}}
helm.sh/chart: {{ include "egress.chart" . }}
{{ include "egress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: egressctl
egressctl.io/owned: "true"
{{- end -}}
