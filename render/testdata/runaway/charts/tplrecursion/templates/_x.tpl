{{- /* tpl renders a string that includes "x" again: Helm's include depth limit counts each
tpl as a fresh render, so this recurses until memory runs out. */ -}}
{{ define "x" }}{{ tpl "{{ include \"x\" . }}" . }}{{ end }}
