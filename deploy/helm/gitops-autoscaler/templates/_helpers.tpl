{{/* The chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "gitops-autoscaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects. */}}
{{- define "gitops-autoscaler.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "gitops-autoscaler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "gitops-autoscaler.labels" -}}
helm.sh/chart: {{ include "gitops-autoscaler.chart" . }}
{{ include "gitops-autoscaler.selectorLabels" . }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the release's pods. */}}
{{- define "gitops-autoscaler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitops-autoscaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount's name. */}}
{{- define "gitops-autoscaler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gitops-autoscaler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The container image reference; the tag defaults to the chart's appVersion. */}}
{{- define "gitops-autoscaler.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secrets to mount, in a stable order: name → {existingSecret, mountPath}. */}}
{{- define "gitops-autoscaler.secretMounts" -}}
{{- range $key := list "git" "github" "prometheus" "http" }}
{{- $s := index $.Values.secrets $key }}
{{- if $s.existingSecret }}
- name: secret-{{ $key }}
  secret: {{ $s.existingSecret }}
  mountPath: {{ $s.mountPath }}
{{- end }}
{{- end }}
{{- end }}
