{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "latchkey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, with the chart name unless it already contains it. */}}
{{- define "latchkey.fullname" -}}
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

{{- define "latchkey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "latchkey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "latchkey.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "latchkey.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "latchkey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "latchkey.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when storage is PostgreSQL. */}}
{{- define "latchkey.postgres" -}}
{{- if or .Values.database.existingSecret .Values.database.url }}true{{ end }}
{{- end }}

{{/*
The file secrets: values key, file name under /etc/latchkey/secrets, the
serve flag that reads it. Their key in the chart-created Secret is the file name.
*/}}
{{- define "latchkey.fileSecrets" -}}
- {value: adminPassword, file: admin-password, flag: admin-password-file}
- {value: signingKeySecret, file: signing-key-secret, flag: signing-key-secret-file}
- {value: smtpURL, file: smtp-url, flag: smtp-url-file}
- {value: webhookSecret, file: webhook-secret, flag: webhook-secret-file}
{{- end }}

{{/* "true" when the chart creates a Secret: some secret is given as a value. */}}
{{- define "latchkey.chartSecret" -}}
{{- $any := and .Values.database.url (not .Values.database.existingSecret) }}
{{- range $s := include "latchkey.fileSecrets" . | fromYamlArray }}
{{- $v := index $.Values.secrets $s.value }}
{{- if and $v.value (not $v.existingSecret) }}{{ $any = true }}{{ end }}
{{- end }}
{{- if $any }}true{{ end }}
{{- end }}

{{/* Checks that fail the render with a message saying what to change. */}}
{{- define "latchkey.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "latchkey.postgres" .)) }}
{{- fail (printf "replicaCount is %d but no PostgreSQL is configured: more than one replica needs PostgreSQL (set database.existingSecret to a Secret holding a postgres:// URL, or database.url); the embedded SQLite database lives on one pod's volume. Use replicaCount: 1 for SQLite." (int .Values.replicaCount)) }}
{{- end }}
{{- if and .Values.database.existingSecret .Values.database.url }}
{{- fail "database.existingSecret and database.url are both set: give the PostgreSQL URL one way (an existing Secret is recommended)" }}
{{- end }}
{{- if and .Values.database.url (not (regexMatch "^postgres(ql)?://" .Values.database.url)) }}
{{- fail "database.url must be a postgres:// URL; leave it empty for the embedded SQLite database" }}
{{- end }}
{{- if and .Values.database.existingSecret (not .Values.database.existingSecretKey) }}
{{- fail "database.existingSecretKey is empty: name the key of database.existingSecret that holds the URL" }}
{{- end }}
{{- range $s := include "latchkey.fileSecrets" . | fromYamlArray }}
{{- $v := index $.Values.secrets $s.value }}
{{- if and $v.existingSecret $v.value }}
{{- fail (printf "secrets.%s: existingSecret and value are both set; give one" $s.value) }}
{{- end }}
{{- if and $v.existingSecret (not $v.existingSecretKey) }}
{{- fail (printf "secrets.%s.existingSecretKey is empty: name the key of %s that holds it" $s.value $v.existingSecret) }}
{{- end }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled .Values.podDisruptionBudget.minAvailable .Values.podDisruptionBudget.maxUnavailable }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to \"\")" }}
{{- end }}
{{- range .Values.trustedProxies }}
{{- if not (regexMatch "^[0-9a-fA-F:.]+(/[0-9]{1,3})?$" (toString .)) }}
{{- fail (printf "trustedProxies: %q is not a CIDR such as 10.42.0.0/16" (toString .)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The public URL: publicURL, else the first ingress host. */}}
{{- define "latchkey.publicURL" -}}
{{- if .Values.publicURL }}
{{- .Values.publicURL }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- if $host }}{{ if .Values.ingress.tls }}https{{ else }}http{{ end }}://{{ $host }}{{ end }}
{{- end }}
{{- end }}

{{/* The projected volume's sources: one item per file secret given, from its Secret. */}}
{{- define "latchkey.secretSources" -}}
{{- range $s := include "latchkey.fileSecrets" . | fromYamlArray }}
{{- $v := index $.Values.secrets $s.value }}
{{- if $v.existingSecret }}
- secret:
    name: {{ $v.existingSecret }}
    items:
      - key: {{ $v.existingSecretKey }}
        path: {{ $s.file }}
{{- else if $v.value }}
- secret:
    name: {{ include "latchkey.fullname" $ }}
    items:
      - key: {{ $s.file }}
        path: {{ $s.file }}
{{- end }}
{{- end }}
{{- end }}
