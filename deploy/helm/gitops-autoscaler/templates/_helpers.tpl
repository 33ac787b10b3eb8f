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
{{- range $key := list "git" "github" "gitlab" "signing" "prometheus" "http" }}
{{- $s := index $.Values.secrets $key | default dict }}
{{- if $s.existingSecret }}
- name: secret-{{ $key }}
  secret: {{ $s.existingSecret }}
  mountPath: {{ $s.mountPath }}
{{- end }}
{{- end }}
{{- end }}

{{/* The pod template of the Deployment or the StatefulSet. */}}
{{- define "gitops-autoscaler.podTemplate" -}}
{{- $mounts := include "gitops-autoscaler.secretMounts" . | fromYamlArray -}}
metadata:
  annotations:
    # Roll the pod when the config changes.
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "gitops-autoscaler.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "gitops-autoscaler.serviceAccountName" . }}
  # It never calls the Kubernetes API, so it gets no API token.
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: gitops-autoscaler
      image: {{ include "gitops-autoscaler.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - serve
        - --config=/etc/gitops-autoscaler/config.yaml
        - --listen=:8080
        {{- if eq .Values.workload "StatefulSet" }}
        # Pod <name>-<i> of the StatefulSet takes shard i of replicaCount.
        - --shard=$(POD_NAME)/{{ .Values.replicaCount }}
        {{- else if .Values.shard }}
        - --shard={{ .Values.shard }}
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- if or (eq .Values.workload "StatefulSet") .Values.extraEnv }}
      env:
        {{- if eq .Values.workload "StatefulSet" }}
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        initialDelaySeconds: 5
        periodSeconds: 20
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 10
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/gitops-autoscaler
          readOnly: true
        - name: cache
          mountPath: {{ .Values.cache.mountPath }}
        - name: tmp
          mountPath: /tmp
        {{- range $mounts }}
        - name: {{ .name }}
          mountPath: {{ .mountPath }}
          readOnly: true
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "gitops-autoscaler.fullname" . }}
    - name: cache
      emptyDir:
        sizeLimit: {{ .Values.cache.sizeLimit }}
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
    {{- range $mounts }}
    - name: {{ .name }}
      secret:
        secretName: {{ .secret }}
        defaultMode: 0440
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
