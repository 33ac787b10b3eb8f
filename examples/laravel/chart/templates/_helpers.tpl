{{/* Labels on every object of the release. */}}
{{- define "laravel.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: laravel
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The application image. */}}
{{- define "laravel.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{/* Environment of the application containers. */}}
{{- define "laravel.env" -}}
env:
{{- range $k, $v := .Values.env }}
  - name: {{ $k }}
    value: {{ $v | quote }}
{{- end }}
{{- with .Values.envSecret }}
envFrom:
  - secretRef:
      name: {{ . }}
{{- end }}
{{- end }}
