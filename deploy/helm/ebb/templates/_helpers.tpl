{{/* The chart name, truncated for label values. */}}
{{- define "ebb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name alone when it contains the chart name. */}}
{{- define "ebb.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ebb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ebb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ebb.selectorLabels" . }}
app.kubernetes.io/component: autoscaler
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ebb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ebb.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The policy file: .Values.policy with the prometheus section from .Values.prometheus. */}}
{{- define "ebb.policy" -}}
{{- $policy := deepCopy .Values.policy }}
{{- if .Values.prometheus.url }}
{{- $prom := dict "url" .Values.prometheus.url }}
{{- with .Values.prometheus.timeout }}{{ $_ := set $prom "timeout" . }}{{ end }}
{{- with .Values.prometheus.httpConfig }}{{ $_ := set $prom "httpConfig" . }}{{ end }}
{{- $_ := set $policy "prometheus" $prom }}
{{- end }}
{{- toYaml $policy }}
{{- end }}
