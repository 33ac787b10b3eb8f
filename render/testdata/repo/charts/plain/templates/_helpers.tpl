{{- define "plain.fullname" -}}
{{ printf "%s-web" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "plain.selector" -}}
app.kubernetes.io/name: {{ include "plain.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "plain.labels" -}}
{{ include "plain.selector" . }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
