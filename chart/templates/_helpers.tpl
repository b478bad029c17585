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
egress.labels: every object's labels. egressctl.io/owned marks what egressctl owns;
with .Values.owner (set by `egressctl render/deploy`, absent for `compile FILE…`),
egressctl.io/environment and egressctl.io/environment-namespace name the environment
that owns the object: prune and diff select on all three, so an environment never
deletes or changes another one's objects. The schema holds both values to DNS labels.
*/}}
{{- define "egress.labels" -}}
helm.sh/chart: {{ include "egress.chart" . }}
{{ include "egress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: egressctl
egressctl.io/owned: "true"
{{- with .Values.owner }}
egressctl.io/environment: {{ .environment | quote }}
egressctl.io/environment-namespace: {{ .namespace | quote }}
{{- end }}
{{- end -}}

{{/*
egress.annotations: an object's `annotations:` block, or nothing when it has none: the
entry's own metadata.annotations plus, with .Values.owner, egressctl.io/context (the
owning environment's kube context; an annotation, since a context name need not be a
valid label value). Each key and value through `quote`: an annotation is free text, and
Go's quoting escapes every control character and line break (toYaml wrote U+2028 raw and
turned NEL into a space). Call with (dict "root" $ "metadata" $entry.metadata).
*/}}
{{- define "egress.annotations" -}}
{{- $annotations := dict -}}
{{- with .metadata }}{{ with .annotations }}{{ $annotations = merge $annotations . }}{{ end }}{{ end -}}
{{- with .root.Values.owner }}{{ $_ := set $annotations "egressctl.io/context" .context }}{{ end -}}
{{- with $annotations -}}
annotations:
  {{- range $key, $value := . }}
  {{ $key | quote }}: {{ $value | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
egress.metadataTail: what an entry's own `metadata` adds after the common labels: its
labels (each key and value through `quote`, as annotations), then the `annotations:`
block (each on a new line, indented for `metadata:`).
Call with (dict "root" $ "metadata" $entry.metadata).
*/}}
{{- define "egress.metadataTail" -}}
{{- with .metadata }}{{ with .labels }}{{ range $key, $value := . }}
    {{ $key | quote }}: {{ $value | quote }}
{{- end }}{{ end }}{{ end -}}
{{- with include "egress.annotations" . }}{{ . | nindent 2 }}{{ end -}}
{{- end -}}

{{/*
egress.metadata: an object's whole `metadata:` block: its name (the values key), its
namespace (the entry's, else the release's), the labels every object carries plus the
entry's own, and its annotations. Call with
(dict "root" $ "name" $name "entry" $entry "labels" $labels), $labels being
`include "egress.labels" .` computed once per template.  The bulk templates
(serviceentries, virtualservices, destinationrules) inline the same block, with the
labels and the context annotation computed once per template, not per object.
*/}}
{{- define "egress.metadata" -}}
metadata:
  name: {{ include "egress.objectName" .name | quote }}
  namespace: {{ .entry.namespace | default .root.Release.Namespace | quote }}
  labels:
    {{- .labels | nindent 4 }}
  {{- include "egress.metadataTail" (dict "root" .root "metadata" .entry.metadata) }}
{{- end -}}
