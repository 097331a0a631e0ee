{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "ado-catalog-sync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart> unless the release name already contains the chart name. */}}
{{- define "ado-catalog-sync.fullname" -}}
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

{{- define "ado-catalog-sync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ado-catalog-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ado-catalog-sync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ado-catalog-sync.labels" -}}
helm.sh/chart: {{ include "ado-catalog-sync.chart" . }}
{{ include "ado-catalog-sync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ado-catalog-sync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ado-catalog-sync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secret holding the credentials: the user's existingSecret or the chart's. */}}
{{- define "ado-catalog-sync.secretName" -}}
{{- default (include "ado-catalog-sync.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* ConfigMap holding the port-app-config, empty when the image's default mapping is used. */}}
{{- define "ado-catalog-sync.configMapName" -}}
{{- if .Values.portAppConfig.existingConfigMap }}
{{- .Values.portAppConfig.existingConfigMap }}
{{- else if .Values.portAppConfig.inline }}
{{- printf "%s-config" (include "ado-catalog-sync.fullname" .) }}
{{- end }}
{{- end }}

{{/* Public base URL of the server: appHost, else https://<ingress host>, else a placeholder (for NOTES.txt). */}}
{{- define "ado-catalog-sync.publicUrl" -}}
{{- if .Values.appHost }}{{ trimSuffix "/" .Values.appHost }}{{ else if .Values.ingress.enabled }}https://{{ .Values.ingress.host }}{{ else }}https://<public host of this service>{{ end }}
{{- end }}

{{- define "ado-catalog-sync.redisName" -}}
{{- printf "%s-redis" (include "ado-catalog-sync.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fails the render on value combinations the app would reject at start. */}}
{{- define "ado-catalog-sync.validate" -}}
{{- if and (not .Values.redis.bundled.enabled) (not .Values.redis.url) (not .Values.existingSecret) }}
{{- fail "Redis is required: set redis.url, redis.bundled.enabled=true, or REDIS_URL in existingSecret" }}
{{- end }}
{{- if and (eq .Values.azureDevOps.accountMode "single") (gt (len .Values.azureDevOps.organizations) 1) }}
{{- fail "azureDevOps.accountMode single takes one organization; use accountMode multiple for several" }}
{{- end }}
{{- if and (eq .Values.azureDevOps.accountMode "multiple") (eq .Values.azureDevOps.authMethod "pat") }}
{{- fail "azureDevOps.accountMode multiple needs an Entra ID credential (authMethod client-secret, client-certificate, managed-identity or workload-identity), not pat" }}
{{- end }}
{{- if and .Values.actions.enabled (not .Values.existingSecret) (not .Values.extraEnvFrom) (or (not .Values.port.clientId) (not .Values.port.clientSecret)) }}
{{- fail "actions.enabled needs the Port credentials: set port.clientId and port.clientSecret (PORT_CLIENT_SECRET verifies the signature of the runs Port sends to /actions/port), or existingSecret holding PORT_CLIENT_ID and PORT_CLIENT_SECRET" }}
{{- end }}
{{- end }}

{{/* Environment of the app containers (server and worker). */}}
{{- define "ado-catalog-sync.env" -}}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: INTEGRATION_IDENTIFIER
  value: {{ .Values.integrationIdentifier | quote }}
{{- with .Values.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.appHost }}
- name: APP_HOST
  value: {{ . | quote }}
{{- end }}
- name: PORT_BASE_URL
  value: {{ .Values.port.baseUrl | quote }}
- name: SERVER_PORT
  value: {{ .Values.server.port | quote }}
- name: ADO_ACCOUNT_MODE
  value: {{ .Values.azureDevOps.accountMode | quote }}
{{- if .Values.azureDevOps.authMethod }}
- name: ADO_AUTH_METHOD
  value: {{ .Values.azureDevOps.authMethod | quote }}
{{- end }}
{{- if eq .Values.azureDevOps.accountMode "single" }}
{{- with .Values.azureDevOps.organizations }}
- name: ADO_ORGANIZATION_URL
  value: {{ first . | quote }}
{{- end }}
{{- else }}
- name: ADO_ORGANIZATION_URLS
  value: {{ join "," .Values.azureDevOps.organizations | quote }}
{{- end }}
{{- if .Values.azureDevOps.flavor }}
- name: ADO_FLAVOR
  value: {{ .Values.azureDevOps.flavor | quote }}
{{- end }}
{{- if .Values.azureDevOps.tenantId }}
- name: ADO_TENANT_ID
  value: {{ .Values.azureDevOps.tenantId | quote }}
{{- end }}
{{- if .Values.azureDevOps.clientId }}
- name: ADO_CLIENT_ID
  value: {{ .Values.azureDevOps.clientId | quote }}
{{- end }}
{{- if gt (int .Values.jqPoolSize) 0 }}
- name: JQ_POOL_SIZE
  value: {{ .Values.jqPoolSize | quote }}
{{- end }}
{{- if gt (int .Values.resync.intervalMinutes) 0 }}
- name: RESYNC_INTERVAL_MINUTES
  value: {{ .Values.resync.intervalMinutes | quote }}
{{- end }}
{{- if .Values.resync.cron }}
- name: RESYNC_CRON
  value: {{ .Values.resync.cron | quote }}
{{- end }}
{{- if .Values.resync.incrementalMinutes }}
- name: RESYNC_INCREMENTAL_MINUTES
  value: {{ .Values.resync.incrementalMinutes | quote }}
{{- end }}
- name: RESYNC_ON_START
  value: {{ .Values.resync.onStart | quote }}
- name: SHUTDOWN_GRACE_MS
  value: {{ mul (int .Values.shutdownGraceSeconds) 1000 | quote }}
{{- with .Values.actions.enabled }}
- name: ACTIONS_ENABLED
  value: {{ join "," . | quote }}
{{- end }}
{{- if .Values.actions.allowDeprovision }}
- name: ACTIONS_ALLOW_DEPROVISION
  value: "true"
{{- end }}
{{- with .Values.actions.microsoftGraphUrl }}
- name: MICROSOFT_GRAPH_URL
  value: {{ . | quote }}
{{- end }}
{{- if include "ado-catalog-sync.configMapName" . }}
- name: PORT_APP_CONFIG
  value: {{ printf "/etc/ado-catalog-sync/%s" .Values.portAppConfig.key | quote }}
{{- end }}
{{- if .Values.redis.bundled.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379" (include "ado-catalog-sync.redisName" .) | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod template shared by the server and worker Deployments.
Call with (dict "root" $ "component" "server|worker" "args" [...] "resources" {...} "http" true|false).
*/}}
{{- define "ado-catalog-sync.podTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "ado-catalog-sync.selectorLabels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- if $root.Values.workloadIdentity.enabled }}
    azure.workload.identity/use: "true"
    {{- end }}
    {{- with $root.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
    {{- with $root.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "ado-catalog-sync.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ add (int $root.Values.shutdownGraceSeconds) 10 }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: {{ .component }}
      image: "{{ $root.Values.image.repository }}:{{ $root.Values.image.tag | default $root.Chart.AppVersion }}"
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        {{- toYaml .args | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      env:
        {{- include "ado-catalog-sync.env" $root | nindent 8 }}
      envFrom:
        - secretRef:
            name: {{ include "ado-catalog-sync.secretName" $root }}
        {{- with $root.Values.extraEnvFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if .http }}
      ports:
        - name: http
          containerPort: {{ $root.Values.server.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        initialDelaySeconds: {{ $root.Values.server.livenessProbe.initialDelaySeconds }}
        periodSeconds: {{ $root.Values.server.livenessProbe.periodSeconds }}
        timeoutSeconds: {{ $root.Values.server.livenessProbe.timeoutSeconds }}
        failureThreshold: {{ $root.Values.server.livenessProbe.failureThreshold }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        initialDelaySeconds: {{ $root.Values.server.readinessProbe.initialDelaySeconds }}
        periodSeconds: {{ $root.Values.server.readinessProbe.periodSeconds }}
        timeoutSeconds: {{ $root.Values.server.readinessProbe.timeoutSeconds }}
        failureThreshold: {{ $root.Values.server.readinessProbe.failureThreshold }}
      {{- end }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if include "ado-catalog-sync.configMapName" $root }}
        - name: port-app-config
          mountPath: /etc/ado-catalog-sync
          readOnly: true
        {{- end }}
        {{- with $root.Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    {{- if include "ado-catalog-sync.configMapName" $root }}
    - name: port-app-config
      configMap:
        name: {{ include "ado-catalog-sync.configMapName" $root }}
        items:
          - key: {{ $root.Values.portAppConfig.key }}
            path: {{ $root.Values.portAppConfig.key }}
    {{- end }}
    {{- with $root.Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
