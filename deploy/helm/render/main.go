// Command render renders a Helm chart the way `helm template` does, for testing deploy/helm/weft without
// a helm binary: Go text/template with sprig (Helm's function library, minus env/expandenv as in Helm),
// plus Helm's own include, tpl, toYaml, fromYaml, toJson, required and lookup; .Values (values.yaml,
// then -f files, then --set a.b=c), .Release, .Chart and .Template. It implements only what Helm
// provides, so a chart that renders here uses nothing Helm lacks.
//
// Usage: render [-f values.yaml]… [--set key=value]… [--namespace ns] [--name release] [--include-crds] CHART_DIR
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func readYaml(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// merge copies src into dst recursively (maps merge, everything else replaces), like Helm's coalescing.
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// setValue applies one --set a.b.c=value (Helm strvals: ints, bools, null and {a,b} lists are typed).
func setValue(values map[string]interface{}, expr string) error {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		return fmt.Errorf("--set %q: want key=value", expr)
	}
	path := strings.Split(expr[:eq], ".")
	raw := expr[eq+1:]
	var v interface{} = raw
	switch {
	case raw == "true" || raw == "false":
		v = raw == "true"
	case raw == "null":
		v = nil
	case strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}"):
		list := []interface{}{}
		for _, s := range strings.Split(raw[1:len(raw)-1], ",") {
			if s != "" {
				list = append(list, s)
			}
		}
		v = list
	default:
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			v = n
		}
	}
	node := values
	for _, p := range path[:len(path)-1] {
		next, ok := node[p].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			node[p] = next
		}
		node = next
	}
	node[path[len(path)-1]] = v
	return nil
}

func toYaml(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func main() {
	var files, sets multi
	flag.Var(&files, "f", "values file (repeatable)")
	flag.Var(&sets, "set", "key=value (repeatable)")
	namespace := flag.String("namespace", "default", "release namespace")
	name := flag.String("name", "release-name", "release name")
	includeCrds := flag.Bool("include-crds", false, "also print crds/")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: render [-f values.yaml]… [--set k=v]… [--namespace ns] CHART_DIR")
		os.Exit(2)
	}
	if err := render(flag.Arg(0), files, sets, *namespace, *name, *includeCrds); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func render(chartDir string, files, sets []string, namespace, name string, includeCrds bool) error {
	chartMeta, err := readYaml(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYaml(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		over, err := readYaml(f)
		if err != nil {
			return err
		}
		merge(values, over)
	}
	for _, s := range sets {
		if err := setValue(values, s); err != nil {
			return err
		}
	}
	chartName, _ := chartMeta["name"].(string)
	chart := map[string]interface{}{
		"Name": chartName, "Version": chartMeta["version"], "AppVersion": chartMeta["appVersion"],
		"Description": chartMeta["description"],
	}
	release := map[string]interface{}{
		"Name": name, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}

	root := template.New("chart")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYaml
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		out := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &out); err != nil {
			out["Error"] = err.Error()
		}
		return out
	}
	funcs["toJson"] = func(v interface{}) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	funcs["lookup"] = func(string, string, string, string) map[string]interface{} { return map[string]interface{}{} }
	funcs["include"] = func(tname string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, tname, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	root.Funcs(funcs).Option("missingkey=zero")

	tdir := filepath.Join(chartDir, "templates")
	entries, err := os.ReadDir(tdir)
	if err != nil {
		return err
	}
	var rendered []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		text, err := os.ReadFile(filepath.Join(tdir, e.Name()))
		if err != nil {
			return err
		}
		tname := chartName + "/templates/" + e.Name()
		if _, err := root.New(tname).Parse(string(text)); err != nil {
			return err
		}
		// Files starting with _ only define templates; NOTES.txt is not a manifest.
		if !strings.HasPrefix(e.Name(), "_") && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			rendered = append(rendered, tname)
		}
	}
	sort.Strings(rendered)
	out := os.Stdout
	if includeCrds {
		crdFiles, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		sort.Strings(crdFiles)
		for _, f := range crdFiles {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "---\n# Source: %s/crds/%s\n%s\n", chartName, filepath.Base(f), strings.TrimSpace(string(data)))
		}
	}
	data := map[string]interface{}{"Values": values, "Release": release, "Chart": chart}
	for _, tname := range rendered {
		data["Template"] = map[string]interface{}{"Name": tname, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, tname, data); err != nil {
			return err
		}
		// Like Helm: split into documents, drop empty ones, label each with its source.
		for _, doc := range strings.Split(buf.String(), "\n---") {
			doc = strings.TrimSpace(strings.TrimPrefix(doc, "---"))
			if doc == "" || strings.Trim(doc, "# \n") == "" {
				continue
			}
			fmt.Fprintf(out, "---\n# Source: %s\n%s\n", tname, doc)
		}
	}
	return nil
}
