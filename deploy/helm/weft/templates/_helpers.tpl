{{/* The image every container runs (one image holds every component). */}}
{{- define "weft.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
