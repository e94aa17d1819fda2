{{/* Names and labels. */}}
{{- define "plinth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "plinth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "plinth.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "plinth.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "plinth.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: plinth
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "plinth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plinth.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "plinth.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "plinth.secretName" -}}
{{- default (printf "%s-secrets" (include "plinth.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "plinth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "plinth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "plinth.claimName" -}}
{{- default (printf "%s-home" (include "plinth.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}

{{/* The settings the chart decides (they must match the mounts, ports and services it creates). */}}
{{- define "plinth.chartSettings" -}}
PLINTH_HOME: /var/lib/plinth
PLINTH_API_HOST: 0.0.0.0
PLINTH_API_PORT: {{ .Values.api.port | quote }}
{{- if .Values.vllm.enabled }}
PLINTH_LLM_BASE_URL: {{ printf "http://%s-vllm:%d/v1" (include "plinth.fullname" .) (int .Values.vllm.port) | quote }}
PLINTH_LLM_MODEL: {{ .Values.vllm.servedModelName | quote }}
{{- else if .Values.llm.externalBaseUrl }}
PLINTH_LLM_BASE_URL: {{ .Values.llm.externalBaseUrl | quote }}
PLINTH_LLM_MODEL: {{ .Values.llm.model | quote }}
{{- end }}
{{- end -}}

{{/* Every non-secret setting: the values' config, then the chart's own, which win. */}}
{{- define "plinth.settings" -}}
{{- $settings := merge (fromYaml (include "plinth.chartSettings" .)) .Values.config -}}
{{- range $key := keys $settings | sortAlpha }}
{{ $key }}: {{ get $settings $key | toString | quote }}
{{- end }}
{{- end -}}

{{- define "plinth.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "plinth.containerSecurityContext" -}}
{{- toYaml .Values.securityContext -}}
{{- end -}}

{{/* Settings from the ConfigMap and the Secret. */}}
{{- define "plinth.envFrom" -}}
- configMapRef:
    name: {{ include "plinth.fullname" . }}-config
- secretRef:
    name: {{ include "plinth.secretName" . }}
{{- end -}}

{{- define "plinth.volumeMounts" -}}
- name: home
  mountPath: /var/lib/plinth
- name: tmp
  mountPath: /tmp
{{- if .Values.keys.existingSecret }}
- name: keys
  mountPath: /var/lib/plinth/keys
  readOnly: true
{{- end }}
{{- end -}}

{{- define "plinth.volumes" -}}
- name: home
  persistentVolumeClaim:
    claimName: {{ include "plinth.claimName" . }}
- name: tmp
  emptyDir: {}
{{- if .Values.keys.existingSecret }}
- name: keys
  secret:
    secretName: {{ .Values.keys.existingSecret }}
    defaultMode: 0400
{{- end }}
{{- end -}}

{{/* Pod-level fields every Plinth process shares. */}}
{{- define "plinth.podCommon" -}}
serviceAccountName: {{ include "plinth.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- include "plinth.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Restart pods when their settings change. */}}
{{- define "plinth.podAnnotations" -}}
checksum/config: {{ include "plinth.settings" . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secrets: {{ toJson .Values.secrets.values | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
