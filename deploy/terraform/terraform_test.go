package terraform_test

// Nothing here runs Terraform: no binary or provider can be fetched where the project is
// built. The tests read the HCL instead and check what a review of the module would:
// that it parses, takes the documented inputs, grants exactly the documented IAM
// actions, wires the sources as documented, has no reference Terraform would reject,
// and that the example calls it in a way Terraform can plan.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

const (
	moduleDir  = "."
	exampleDir = "../examples/complete"
)

// wantActions is every IAM action the function's role is granted, and no other.
var wantActions = []string{
	"dynamodb:BatchWriteItem",
	"dynamodb:DeleteItem",
	"dynamodb:PutItem",
	"dynamodb:Query",
	"dynamodb:Scan",
	"execute-api:ManageConnections",
	"logs:CreateLogStream",
	"logs:PutLogEvents",
	"sqs:DeleteMessage",
	"sqs:GetQueueAttributes",
	"sqs:ReceiveMessage",
	"sqs:SendMessage",
}

// wantInputs is every input of the module. The first seven are the Python pusher's.
var wantInputs = []string{
	"prefix", "common_tags", "agma_arn", "apigw_endpoint", "connections_table",
	"notifications_topic_arn", "notifications_queue_arn",
	"poison_queue", "batch_size", "maximum_batching_window_in_seconds", "lambda_zip_path",
	"architecture", "memory_size", "timeout", "log_retention_in_days", "environment",
}

// originalInputs are the Python pusher module's inputs with their types.
var originalInputs = map[string]string{
	"prefix":                  "string",
	"common_tags":             "map(string)",
	"agma_arn":                "string",
	"apigw_endpoint":          "string",
	"connections_table":       "object({name = string, arn = string})",
	"notifications_topic_arn": "string",
	"notifications_queue_arn": "string",
}

// ---- reading a configuration ----

// config is the top-level blocks of one Terraform module's .tf files.
type config struct {
	dir    string
	blocks []block
}

// block is a top-level block with the source of its file, to quote expressions from.
type block struct {
	*hclsyntax.Block
	src []byte
}

// labelCounts is how many labels each top-level block type takes.
var labelCounts = map[string]int{
	"terraform": 0, "locals": 0, "variable": 1, "output": 1, "module": 1, "provider": 1,
	"resource": 2, "data": 2, "moved": 0, "import": 0, "removed": 0, "check": 1,
}

func parseDir(dir string) (*config, hcl.Diagnostics) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(paths) == 0 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "no .tf files in " + dir}}
	}
	p := hclparse.NewParser()
	cfg := &config{dir: dir}
	var diags hcl.Diagnostics
	for _, path := range paths {
		f, d := p.ParseHCLFile(path)
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		body := f.Body.(*hclsyntax.Body)
		for name, a := range body.Attributes {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "argument " + name + " outside a block", Subject: a.Range().Ptr()})
		}
		for _, b := range body.Blocks {
			n, ok := labelCounts[b.Type]
			if !ok || n != len(b.Labels) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
					Summary: fmt.Sprintf("unexpected block %s %q", b.Type, b.Labels), Subject: b.DefRange().Ptr()})
				continue
			}
			cfg.blocks = append(cfg.blocks, block{b, f.Bytes})
		}
	}
	return cfg, diags
}

// load parses dir and fails the test on any diagnostic, warnings included.
func load(t *testing.T, dir string) *config {
	t.Helper()
	cfg, diags := parseDir(dir)
	if len(diags) > 0 {
		t.Fatalf("parse %s: %s", dir, diags.Error())
	}
	return cfg
}

// find returns the top-level blocks of type typ whose labels start with labels.
func (c *config) find(typ string, labels ...string) []block {
	var out []block
	for _, b := range c.blocks {
		if b.Type == typ && len(b.Labels) >= len(labels) && slices.Equal(b.Labels[:len(labels)], labels) {
			out = append(out, b)
		}
	}
	return out
}

// one returns the single block of type typ with labels, failing the test otherwise.
func (c *config) one(t *testing.T, typ string, labels ...string) block {
	t.Helper()
	bs := c.find(typ, labels...)
	if len(bs) != 1 {
		t.Fatalf("%s: want one %s %q, have %d", c.dir, typ, labels, len(bs))
	}
	return bs[0]
}

// locals returns every local value's expression.
func (c *config) locals() map[string]hclsyntax.Expression {
	out := map[string]hclsyntax.Expression{}
	for _, b := range c.find("locals") {
		for name, a := range b.Body.Attributes {
			out[name] = a.Expr
		}
	}
	return out
}

// text is the source of rng with all blanks removed.
func (b block) text(rng hcl.Range) string {
	return strings.Join(strings.Fields(string(b.src[rng.Start.Byte:rng.End.Byte])), "")
}

// literal evaluates an expression that must not refer to anything.
func literal(expr hclsyntax.Expression) (cty.Value, error) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s: not a literal: %s", expr.Range(), diags.Error())
	}
	return v, nil
}

// literalString evaluates a string literal.
func literalString(expr hclsyntax.Expression) (string, error) {
	v, err := literal(expr)
	if err != nil {
		return "", err
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", fmt.Errorf("%s: not a string", expr.Range())
	}
	return v.AsString(), nil
}

// literalStrings evaluates a list of string literals.
func literalStrings(expr hclsyntax.Expression) ([]string, error) {
	tuple, ok := expr.(*hclsyntax.TupleConsExpr)
	if !ok {
		return nil, fmt.Errorf("%s: not a list written out", expr.Range())
	}
	var out []string
	for _, e := range tuple.Exprs {
		s, err := literalString(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ---- references ----

// refName is what a traversal refers to, as Terraform addresses it: "var.x", "local.x",
// "data.t.n", "module.m.out", "t.n" (a resource, or a dynamic block's iterator); "" for
// the names that are no object of the configuration (each, count, self, path, terraform).
func refName(tr hcl.Traversal) string {
	attr := func(i int) string {
		if i < len(tr) {
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return "?"
	}
	switch root := tr.RootName(); root {
	case "each", "count", "self", "path", "terraform":
		return ""
	case "data", "module":
		return root + "." + attr(1) + "." + attr(2)
	default:
		return root + "." + attr(1)
	}
}

// exprRefs returns the names an expression refers to, less those rooted at a name in
// scope (the iterators of the dynamic blocks around it).
func exprRefs(expr hclsyntax.Expression, scope []string) []string {
	var out []string
	for _, tr := range hclsyntax.Variables(expr) {
		if slices.Contains(scope, tr.RootName()) {
			continue
		}
		if n := refName(tr); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// bodyRefs returns the names a block body refers to, nested and dynamic blocks included.
func bodyRefs(body *hclsyntax.Body, scope []string) []string {
	var out []string
	for _, a := range body.Attributes {
		out = append(out, exprRefs(a.Expr, scope)...)
	}
	for _, b := range body.Blocks {
		inner := scope
		if b.Type == "dynamic" && len(b.Labels) == 1 {
			// for_each cannot name the iterator, so its scope may take it too.
			inner = append(slices.Clip(scope), iteratorName(b))
		}
		out = append(out, bodyRefs(b.Body, inner)...)
	}
	return out
}

// blockRefs returns the names a top-level block refers to. A variable's type is
// written as a traversal (string, map(string)) but refers to nothing.
func blockRefs(b block) []string {
	if b.Type != "variable" {
		return bodyRefs(b.Body, nil)
	}
	var out []string
	for _, inner := range b.Body.Blocks {
		out = append(out, bodyRefs(inner.Body, nil)...)
	}
	return out
}

// iteratorName is the name a dynamic block's content refers to its element by.
func iteratorName(dyn *hclsyntax.Block) string {
	if a, ok := dyn.Body.Attributes["iterator"]; ok {
		if tr, ok := a.Expr.(*hclsyntax.ScopeTraversalExpr); ok {
			return tr.Traversal.RootName()
		}
	}
	return dyn.Labels[0]
}

// expandLocals follows local values to what they refer to in the end.
func expandLocals(refs []string, locals map[string]hclsyntax.Expression) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(string)
	walk = func(r string) {
		if seen[r] {
			return
		}
		seen[r] = true
		if name, ok := strings.CutPrefix(r, "local."); ok {
			if e, ok := locals[name]; ok {
				for _, inner := range exprRefs(e, nil) {
					walk(inner)
				}
				return
			}
		}
		out = append(out, r)
	}
	for _, r := range refs {
		walk(r)
	}
	return out
}

// ---- IAM ----

// statement is one statement of an aws_iam_policy_document, written out or made by a
// dynamic block.
type statement struct {
	doc       string
	sid       string
	actions   []string
	resources hclsyntax.Expression
	iterator  string               // of the dynamic block, "" for a statement written out
	forEach   hclsyntax.Expression // of the dynamic block
}

// policyStatements returns the statements of every aws_iam_policy_document in cfg, and
// errors for whatever could grant more than its statements' actions say.
func policyStatements(cfg *config) ([]statement, error) {
	var out []statement
	var errs []error
	for _, doc := range cfg.find("data", "aws_iam_policy_document") {
		name := doc.Labels[1]
		for attr := range doc.Body.Attributes {
			if attr != "version" && attr != "policy_id" {
				errs = append(errs, fmt.Errorf("document %s: %s brings in statements not written here", name, attr))
			}
		}
		for _, b := range doc.Body.Blocks {
			switch {
			case b.Type == "statement":
				s, err := readStatement(name, b.Body)
				errs = append(errs, err)
				out = append(out, s)
			case b.Type == "dynamic" && b.Labels[0] == "statement":
				var content *hclsyntax.Block
				for _, c := range b.Body.Blocks {
					if c.Type == "content" {
						content = c
					}
				}
				fe, ok := b.Body.Attributes["for_each"]
				if content == nil || !ok {
					errs = append(errs, fmt.Errorf("document %s: dynamic statement without for_each or content", name))
					continue
				}
				s, err := readStatement(name, content.Body)
				errs = append(errs, err)
				s.iterator, s.forEach = iteratorName(b), fe.Expr
				out = append(out, s)
			default:
				errs = append(errs, fmt.Errorf("document %s: unexpected block %s %q", name, b.Type, b.Labels))
			}
		}
	}
	return out, errors.Join(errs...)
}

func readStatement(doc string, body *hclsyntax.Body) (statement, error) {
	s := statement{doc: doc}
	var errs []error
	for name, a := range body.Attributes {
		var err error
		switch name {
		case "sid":
			s.sid, err = literalString(a.Expr)
		case "effect":
			var effect string
			if effect, err = literalString(a.Expr); err == nil && effect != "Allow" {
				err = fmt.Errorf("effect %q: the documents are grants", effect)
			}
		case "actions":
			s.actions, err = literalStrings(a.Expr)
		case "resources":
			s.resources = a.Expr
			if tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
				for _, e := range tuple.Exprs {
					if v, lerr := literalString(e); lerr == nil && strings.Contains(v, "*") {
						err = fmt.Errorf("resource %q: a wildcard", v)
					}
				}
			}
		default: // not_actions, not_resources: grants by exclusion
			err = fmt.Errorf("%s is not allowed", name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("document %s, statement %q: %w", doc, s.sid, err))
		}
	}
	for _, b := range body.Blocks {
		if b.Type != "condition" {
			errs = append(errs, fmt.Errorf("document %s, statement %q: block %s in a grant", doc, s.sid, b.Type))
		}
	}
	if len(s.actions) == 0 || s.resources == nil {
		errs = append(errs, fmt.Errorf("document %s, statement %q: no actions or no resources", doc, s.sid))
	}
	return s, errors.Join(errs...)
}

// grantedActions is the sorted set of actions of every statement of every document.
func grantedActions(statements []statement) []string {
	var out []string
	for _, s := range statements {
		out = append(out, s.actions...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// checkGrants reports how what cfg grants its role differs from wantActions, and any way
// to grant besides aws_iam_policy_document statements.
func checkGrants(cfg *config) error {
	statements, err := policyStatements(cfg)
	errs := []error{err}
	if got := grantedActions(statements); !slices.Equal(got, wantActions) {
		var added, missing []string
		for _, a := range got {
			if !slices.Contains(wantActions, a) {
				added = append(added, a)
			}
		}
		for _, a := range wantActions {
			if !slices.Contains(got, a) {
				missing = append(missing, a)
			}
		}
		errs = append(errs, fmt.Errorf("actions granted: %q not in the list, %q missing", added, missing))
	}
	for _, r := range cfg.find("resource") {
		typ := r.Labels[0]
		switch {
		case typ == "aws_iam_role":
			if _, ok := r.Body.Attributes["managed_policy_arns"]; ok {
				errs = append(errs, fmt.Errorf("role %s: managed_policy_arns", r.Labels[1]))
			}
			for _, b := range r.Body.Blocks {
				if b.Type == "inline_policy" {
					errs = append(errs, fmt.Errorf("role %s: inline_policy", r.Labels[1]))
				}
			}
		case typ == "aws_iam_role_policy":
			var tr *hclsyntax.ScopeTraversalExpr
			isTr := false
			if a, ok := r.Body.Attributes["policy"]; ok {
				tr, isTr = a.Expr.(*hclsyntax.ScopeTraversalExpr)
			}
			if !isTr || len(tr.Traversal) != 4 || !strings.HasPrefix(refName(tr.Traversal), "data.aws_iam_policy_document.") {
				errs = append(errs, fmt.Errorf("role policy %s: policy must be data.aws_iam_policy_document.NAME.json", r.Labels[1]))
			}
		case strings.HasPrefix(typ, "aws_iam_"):
			errs = append(errs, fmt.Errorf("resource %s %s: grants only through aws_iam_role_policy", typ, r.Labels[1]))
		}
	}
	return errors.Join(errs...)
}

func TestFilesParse(t *testing.T) {
	for _, dir := range []string{moduleDir, exampleDir} {
		t.Run(dir, func(t *testing.T) {
			cfg := load(t, dir)
			if len(cfg.find("terraform")) != 1 {
				t.Errorf("%s: want one terraform block with the version constraints", dir)
			}
		})
	}
}

// TestFilesFormatted is terraform fmt -check: terraform fmt formats with hclwrite.Format.
func TestFilesFormatted(t *testing.T) {
	for _, dir := range []string{moduleDir, exampleDir} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(hclwrite.Format(src), src) {
				t.Errorf("%s is not formatted: run terraform fmt", p)
			}
		}
	}
}

func TestVersions(t *testing.T) {
	cfg := load(t, moduleDir)
	tf := cfg.one(t, "terraform")
	v, err := literalString(tf.Body.Attributes["required_version"].Expr)
	if err != nil || v != ">= 1.5" {
		t.Errorf("required_version = %q (%v), want >= 1.5", v, err)
	}
	var aws cty.Value
	for _, b := range tf.Body.Blocks {
		if b.Type == "required_providers" {
			aws, err = literal(b.Body.Attributes["aws"].Expr)
		}
	}
	if err != nil || !aws.Type().IsObjectType() ||
		aws.GetAttr("source").AsString() != "hashicorp/aws" || aws.GetAttr("version").AsString() != ">= 5.0" {
		t.Errorf("required_providers.aws = %#v (%v), want hashicorp/aws >= 5.0", aws, err)
	}
}

func TestModuleInputs(t *testing.T) {
	cfg := load(t, moduleDir)
	var got []string
	for _, v := range cfg.find("variable") {
		name := v.Labels[0]
		got = append(got, name)
		d, ok := v.Body.Attributes["description"]
		if !ok {
			t.Errorf("variable %s: no description", name)
		} else if s, err := literalString(d.Expr); err != nil || len(s) < 10 {
			t.Errorf("variable %s: description %q (%v)", name, s, err)
		}
		ty, ok := v.Body.Attributes["type"]
		if !ok {
			t.Errorf("variable %s: no type", name)
			continue
		}
		have, _, diags := typeexpr.TypeConstraintWithDefaults(ty.Expr)
		if diags.HasErrors() {
			t.Errorf("variable %s: type: %s", name, diags.Error())
			continue
		}
		if want, ok := originalInputs[name]; ok {
			expr, _ := hclsyntax.ParseExpression([]byte(want), "want", hcl.InitialPos)
			if want, _ := typeexpr.TypeConstraint(expr); !have.Equals(want) {
				t.Errorf("variable %s: type %s, want the Python module's %s",
					name, typeexpr.TypeString(have), typeexpr.TypeString(want))
			}
		}
	}
	sort.Strings(got)
	want := slices.Sorted(slices.Values(wantInputs))
	if !slices.Equal(got, want) {
		t.Errorf("inputs:\n have %q\n want %q", got, want)
	}
	for _, name := range []string{"notifications_topic_arn", "notifications_queue_arn"} {
		v := cfg.one(t, "variable", name)
		d, ok := v.Body.Attributes["default"]
		if val, err := literal(d.Expr); !ok || err != nil || !val.IsNull() {
			t.Errorf("variable %s: want default = null", name)
		}
	}
}

// TestInputValidations evaluates every validation of the module's inputs, as Terraform
// would, on each default and on the values below.
func TestInputValidations(t *testing.T) {
	cases := []struct {
		input string
		value string // HCL
		ok    bool
	}{
		{"prefix", `"team-prd"`, true},
		{"prefix", `""`, false},
		{"prefix", `"has space"`, false},
		{"prefix", `"` + strings.Repeat("a", 58) + `"`, false},
		{"agma_arn", `"arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections"`, true},
		{"agma_arn", `"arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections/*"`, true},
		{"agma_arn", `"arn:aws:execute-api:eu-west-1:123456789012:abc123"`, false},
		{"agma_arn", `"https://abc123.execute-api.eu-west-1.amazonaws.com/prod"`, false},
		{"apigw_endpoint", `"https://abc123.execute-api.eu-west-1.amazonaws.com/prod"`, true},
		{"apigw_endpoint", `"https://live.example.com/push"`, true},
		{"apigw_endpoint", `"abc123.execute-api.eu-west-1.amazonaws.com/prod"`, false},
		{"apigw_endpoint", `"wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"`, false},
		{"connections_table", `{name = "ws-connections", arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/ws-connections"}`, true},
		{"connections_table", `{name = "other", arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/ws-connections"}`, false},
		{"connections_table", `{name = "ws", arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/ws/index/by-user"}`, false},
		{"notifications_topic_arn", `"arn:aws:sns:eu-west-1:123456789012:notifications"`, true},
		{"notifications_topic_arn", `"arn:aws:sns:eu-west-1:123456789012:notifications.fifo"`, false},
		{"notifications_topic_arn", `"arn:aws:sqs:eu-west-1:123456789012:notifications"`, false},
		{"notifications_queue_arn", `"arn:aws:sqs:eu-west-1:123456789012:notifications"`, true},
		{"notifications_queue_arn", `"arn:aws:sqs:eu-west-1:123456789012:notifications.fifo"`, true},
		{"notifications_queue_arn", `"https://sqs.eu-west-1.amazonaws.com/123456789012/notifications"`, false},
		{"poison_queue", `{message_retention_seconds = 60}`, true},
		{"poison_queue", `{message_retention_seconds = 59}`, false},
		{"poison_queue", `{message_retention_seconds = 1209601}`, false},
		{"batch_size", `10000`, true},
		{"batch_size", `0`, false},
		{"batch_size", `10001`, false},
		{"batch_size", `2.5`, false},
		{"maximum_batching_window_in_seconds", `300`, true},
		{"maximum_batching_window_in_seconds", `-1`, false},
		{"maximum_batching_window_in_seconds", `301`, false},
		{"lambda_zip_path", `"/build/pusher.zip"`, true},
		{"lambda_zip_path", `"bootstrap"`, false},
		{"architecture", `"x86_64"`, true},
		{"architecture", `"amd64"`, false},
		{"architecture", `"aarch64"`, false},
		{"memory_size", `10240`, true},
		{"memory_size", `64`, false},
		{"timeout", `900`, true},
		{"timeout", `0`, false},
		{"timeout", `901`, false},
		{"log_retention_in_days", `3653`, true},
		{"log_retention_in_days", `10`, false},
		{"environment", `{LOG_LEVEL = "debug", TTL_ATTRIBUTE = "expires_at"}`, true},
		{"environment", `{"1X" = "a"}`, false},
		{"environment", `{"A-B" = "a"}`, false},
		{"environment", `{APIGW_ENDPOINT = "https://elsewhere"}`, false},
		{"environment", `{POISON_QUEUE_URL = "https://elsewhere"}`, false},
	}

	cfg := load(t, moduleDir)
	inputs := map[string]block{}
	for _, v := range cfg.find("variable") {
		inputs[v.Labels[0]] = v
		if d, ok := v.Body.Attributes["default"]; ok {
			t.Run(v.Labels[0]+"/default", func(t *testing.T) {
				val, err := literal(d.Expr)
				if err != nil {
					t.Fatal(err)
				}
				if failed := validate(t, v, val); len(failed) > 0 {
					t.Errorf("the default fails %q", failed)
				}
			})
		}
	}
	rejected := map[string]bool{}
	for _, c := range cases {
		t.Run(c.input+"/"+c.value, func(t *testing.T) {
			v, ok := inputs[c.input]
			if !ok {
				t.Fatalf("no input %s", c.input)
			}
			expr, diags := hclsyntax.ParseExpression([]byte(c.value), "case", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			val, err := literal(expr)
			if err != nil {
				t.Fatal(err)
			}
			failed := validate(t, v, val)
			switch {
			case c.ok && len(failed) > 0:
				t.Errorf("rejected: %q", failed)
			case !c.ok && len(failed) == 0:
				t.Errorf("accepted")
			}
			if !c.ok {
				rejected[c.input] = true
			}
		})
	}
	for name, v := range inputs {
		for _, b := range v.Body.Blocks {
			if b.Type == "validation" && !rejected[name] {
				t.Errorf("input %s has validations but no case above that it rejects", name)
				break
			}
		}
	}
}

// validationFuncs are the Terraform functions the validations may call, from cty's
// standard library where Terraform's are the same.
var validationFuncs = map[string]function.Function{
	"can":      tryfunc.CanFunc,
	"try":      tryfunc.TryFunc,
	"regex":    stdlib.RegexFunc,
	"contains": stdlib.ContainsFunc,
	"keys":     stdlib.KeysFunc,
	"length":   stdlib.LengthFunc,
	"floor":    stdlib.FloorFunc,
	"split":    stdlib.SplitFunc,
}

// validate converts val to the input's type as Terraform does and returns the error
// messages of the validations it fails. A condition that cannot be evaluated fails the
// test: Terraform would report an error instead of the message.
func validate(t *testing.T, v block, val cty.Value) []string {
	t.Helper()
	name := v.Labels[0]
	ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(v.Body.Attributes["type"].Expr)
	if diags.HasErrors() {
		t.Fatalf("input %s: type: %s", name, diags.Error())
	}
	if defaults != nil {
		val = defaults.Apply(val)
	}
	val, err := convert.Convert(val, ty)
	if err != nil {
		return []string{"not a " + typeexpr.TypeString(ty) + ": " + err.Error()}
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: val})},
		Functions: validationFuncs,
	}
	var failed []string
	for _, b := range v.Body.Blocks {
		if b.Type != "validation" {
			continue
		}
		for _, r := range bodyRefs(b.Body, nil) {
			if r != "var."+name {
				t.Errorf("input %s: a validation refers to %s (Terraform before 1.9 allows only the input itself)", name, r)
			}
		}
		cond, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
		if diags.HasErrors() {
			t.Errorf("input %s = %#v: condition does not evaluate: %s", name, val, diags.Error())
			continue
		}
		if cond.Type() != cty.Bool || !cond.IsKnown() || cond.IsNull() {
			t.Errorf("input %s: condition is %#v, not a bool", name, cond)
			continue
		}
		if cond.False() {
			msg, _ := literalString(b.Body.Attributes["error_message"].Expr)
			failed = append(failed, msg)
		}
	}
	return failed
}

func TestGrantsExactlyTheListedActions(t *testing.T) {
	cfg := load(t, moduleDir)
	if err := checkGrants(cfg); err != nil {
		t.Error(err)
	}
	statements, _ := policyStatements(cfg)
	if got := grantedActions(statements); !slices.Equal(got, wantActions) {
		t.Errorf("actions:\n have %q\n want %q", got, wantActions)
	}
}

// TestGrantsCheckCatchesChanges edits a copy of the module in ways that grant more or
// less, and expects checkGrants to see each.
func TestGrantsCheckCatchesChanges(t *testing.T) {
	cases := []struct {
		name, file, old, new string
	}{
		{"action added", "iam.tf",
			`actions   = ["sqs:SendMessage"]`, `actions   = ["sqs:SendMessage", "sqs:PurgeQueue"]`},
		{"action removed", "iam.tf", `"dynamodb:Scan",`, ``},
		{"action added to the dynamic statement", "iam.tf",
			`"sqs:GetQueueAttributes",`, `"sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility",`},
		{"action removed from the dynamic statement", "iam.tf", `"sqs:DeleteMessage",`, ``},
		{"action swapped", "iam.tf", `"logs:CreateLogStream",`, `"logs:CreateLogGroup",`},
		{"statement added", "iam.tf", `data "aws_iam_policy_document" "pusher" {`,
			`data "aws_iam_policy_document" "pusher" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::bucket/key"]
  }`},
		{"wildcard resource", "iam.tf", `resources = [aws_sqs_queue.poison.arn]`, `resources = ["*"]`},
		{"not_actions", "iam.tf", `sid       = "PoisonQueue"`, `sid       = "PoisonQueue"
    not_actions = ["sqs:DeleteQueue"]`},
		{"second document", "iam.tf", `resource "aws_iam_role_policy" "pusher" {`,
			`data "aws_iam_policy_document" "more" {
  statement {
    actions   = ["sns:Publish"]
    resources = [var.notifications_topic_arn]
  }
}

resource "aws_iam_role_policy" "pusher" {`},
		{"managed policy attached", "iam.tf", `resource "aws_iam_role_policy" "pusher" {`,
			`resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.pusher.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_role_policy" "pusher" {`},
		{"inline JSON policy", "iam.tf", `policy = data.aws_iam_policy_document.pusher.json`,
			`policy = jsonencode({Statement = [{Effect = "Allow", Action = "*", Resource = "*"}]})`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTF(t, moduleDir, dir)
			edit(t, filepath.Join(dir, c.file), c.old, c.new)
			cfg := load(t, dir)
			if err := checkGrants(cfg); err == nil {
				t.Error("checkGrants accepts the edited module")
			} else {
				t.Log(err)
			}
		})
	}
}

// TestPolicyStatementsScopeEachResource checks that each group of actions is granted on
// its own resource, and the queue's only when a queue is given.
func TestPolicyStatementsScopeEachResource(t *testing.T) {
	want := []struct {
		actions  []string
		resource string // what the statement's resources must come from
		dynamic  bool
	}{
		{[]string{"dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}, "var.connections_table", false},
		{[]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, "var.notifications_queue_arn", true},
		{[]string{"sqs:SendMessage"}, "aws_sqs_queue.poison", false},
		{[]string{"execute-api:ManageConnections"}, "var.agma_arn", false},
		{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, "aws_cloudwatch_log_group.pusher", false},
	}
	cfg := load(t, moduleDir)
	statements, err := policyStatements(cfg)
	if err != nil {
		t.Fatal(err)
	}
	locals := cfg.locals()
	if len(statements) != len(want) {
		t.Errorf("%d statements, want %d", len(statements), len(want))
	}
	for _, w := range want {
		i := slices.IndexFunc(statements, func(s statement) bool {
			return slices.Equal(slices.Sorted(slices.Values(s.actions)), slices.Sorted(slices.Values(w.actions)))
		})
		if i < 0 {
			t.Errorf("no statement of exactly %q", w.actions)
			continue
		}
		s := statements[i]
		refs := exprRefs(s.resources, []string{s.iterator})
		// A dynamic statement's element comes from its for_each.
		if s.iterator != "" && slices.ContainsFunc(hclsyntax.Variables(s.resources),
			func(tr hcl.Traversal) bool { return tr.RootName() == s.iterator }) {
			refs = append(refs, exprRefs(s.forEach, nil)...)
		}
		refs = expandLocals(refs, locals)
		if !slices.Contains(refs, w.resource) {
			t.Errorf("statement %q: resources from %q, want from %s", s.sid, refs, w.resource)
		}
		if (s.iterator != "") != w.dynamic {
			t.Errorf("statement %q: dynamic is %v, want %v", s.sid, s.iterator != "", w.dynamic)
		}
	}
}

func TestTrustPolicy(t *testing.T) {
	cfg := load(t, moduleDir)
	roles := cfg.find("resource", "aws_iam_role")
	if len(roles) != 1 {
		t.Fatalf("%d roles, want 1", len(roles))
	}
	call, ok := roles[0].Body.Attributes["assume_role_policy"].Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "jsonencode" || len(call.Args) != 1 {
		t.Fatal("assume_role_policy must be jsonencode({...})")
	}
	doc, err := literal(call.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	stmts := doc.GetAttr("Statement").AsValueSlice()
	if len(stmts) != 1 {
		t.Fatalf("%d trust statements, want 1", len(stmts))
	}
	s := stmts[0]
	if s.GetAttr("Effect").AsString() != "Allow" || s.GetAttr("Action").AsString() != "sts:AssumeRole" ||
		s.GetAttr("Principal").GetAttr("Service").AsString() != "lambda.amazonaws.com" {
		t.Errorf("trust statement %#v, want lambda.amazonaws.com allowed sts:AssumeRole", s)
	}
}

func TestLambdaFunction(t *testing.T) {
	cfg := load(t, moduleDir)
	fn := cfg.one(t, "resource", "aws_lambda_function")
	for attr, want := range map[string]string{"runtime": "provided.al2023", "handler": "bootstrap"} {
		if got, err := literalString(fn.Body.Attributes[attr].Expr); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", attr, got, err, want)
		}
	}
	for attr, want := range map[string]string{
		"architectures":    "[var.architecture]",
		"memory_size":      "var.memory_size",
		"timeout":          "var.timeout",
		"filename":         "var.lambda_zip_path",
		"source_code_hash": "filebase64sha256(var.lambda_zip_path)",
	} {
		if a, ok := fn.Body.Attributes[attr]; !ok || fn.text(a.Expr.Range()) != want {
			t.Errorf("%s is not %s", attr, want)
		}
	}

	var env *hclsyntax.Attribute
	for _, b := range fn.Body.Blocks {
		if b.Type == "environment" {
			env = b.Body.Attributes["variables"]
		}
	}
	if env == nil {
		t.Fatal("no environment.variables")
	}
	// merge(var.environment, {...}): the module's settings come last, so they win.
	merge, ok := env.Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || merge.Name != "merge" || len(merge.Args) != 2 || fn.text(merge.Args[0].Range()) != "var.environment" {
		t.Fatalf("environment.variables = %s, want merge(var.environment, {...})", fn.text(env.Expr.Range()))
	}
	own, ok := merge.Args[1].(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Fatal("merge's second argument is not an object written out")
	}
	got := map[string][]string{}
	for _, item := range own.Items {
		key, err := literalString(item.KeyExpr)
		if err != nil {
			t.Fatal(err)
		}
		got[key] = exprRefs(item.ValueExpr, nil)
	}
	for key, from := range map[string]string{
		"APIGW_ENDPOINT":         "var.apigw_endpoint",
		"CONNECTIONS_TABLE_NAME": "var.connections_table",
		"POISON_QUEUE_URL":       "aws_sqs_queue.poison",
	} {
		if !slices.Equal(got[key], []string{from}) {
			t.Errorf("%s from %q, want from %s", key, got[key], from)
		}
		delete(got, key)
	}
	if len(got) > 0 {
		t.Errorf("unexpected variables %v", got)
	}

	lg := cfg.one(t, "resource", "aws_cloudwatch_log_group")
	if name := lg.text(lg.Body.Attributes["name"].Expr.Range()); name != `"/aws/lambda/${local.name}"` ||
		fn.text(fn.Body.Attributes["function_name"].Expr.Range()) != "local.name" {
		t.Errorf("the log group %s is not the function's /aws/lambda/<function_name>", name)
	}
}

func TestEventSources(t *testing.T) {
	cfg := load(t, moduleDir)
	esm := cfg.one(t, "resource", "aws_lambda_event_source_mapping")
	types, err := literalStrings(esm.Body.Attributes["function_response_types"].Expr)
	if err != nil || !slices.Equal(types, []string{"ReportBatchItemFailures"}) {
		t.Errorf("function_response_types = %q (%v), want [ReportBatchItemFailures]", types, err)
	}
	for attr, want := range map[string]string{
		"batch_size":                         "var.batch_size",
		"maximum_batching_window_in_seconds": "var.maximum_batching_window_in_seconds",
		"event_source_arn":                   "var.notifications_queue_arn",
		"function_name":                      "aws_lambda_function.pusher.arn",
	} {
		if a, ok := esm.Body.Attributes[attr]; !ok || esm.text(a.Expr.Range()) != want {
			t.Errorf("event source mapping: %s is not %s", attr, want)
		}
	}

	// Each source exists when, and only when, its input is set.
	for _, c := range []struct{ typ, input string }{
		{"aws_lambda_event_source_mapping", "var.notifications_queue_arn"},
		{"aws_sns_topic_subscription", "var.notifications_topic_arn"},
		{"aws_lambda_permission", "var.notifications_topic_arn"},
	} {
		r := cfg.one(t, "resource", c.typ)
		count, ok := r.Body.Attributes["count"]
		if !ok || r.text(count.Expr.Range()) != c.input+"==null?0:1" {
			t.Errorf("%s: count is not %s == null ? 0 : 1", c.typ, c.input)
		}
	}
	sub := cfg.one(t, "resource", "aws_sns_topic_subscription")
	perm := cfg.one(t, "resource", "aws_lambda_permission")
	for _, c := range []struct {
		b          block
		attr, want string
	}{
		{sub, "protocol", "lambda"},
		{perm, "principal", "sns.amazonaws.com"},
		{perm, "action", "lambda:InvokeFunction"},
	} {
		if got, err := literalString(c.b.Body.Attributes[c.attr].Expr); err != nil || got != c.want {
			t.Errorf("%s.%s = %q, want %q", c.b.Labels[0], c.attr, got, c.want)
		}
	}
	if perm.text(perm.Body.Attributes["source_arn"].Expr.Range()) != "var.notifications_topic_arn" {
		t.Error("the SNS permission's source_arn is not the topic")
	}

	// The preconditions of the batch, on the values AWS accepts and refuses.
	var conds []hclsyntax.Expression
	for _, b := range esm.Body.Blocks {
		for _, p := range b.Body.Blocks {
			if b.Type == "lifecycle" && p.Type == "precondition" {
				conds = append(conds, p.Body.Attributes["condition"].Expr)
			}
		}
	}
	if len(conds) == 0 {
		t.Fatal("no precondition on the batch size")
	}
	const standard, fifo = "arn:aws:sqs:eu-west-1:123456789012:n", "arn:aws:sqs:eu-west-1:123456789012:n.fifo"
	for _, c := range []struct {
		queue        string
		size, window int64
		ok           bool
	}{
		{standard, 10, 0, true}, {standard, 11, 0, false}, {standard, 11, 1, true}, {standard, 10000, 300, true},
		{fifo, 10, 0, true}, {fifo, 1, 0, true}, {fifo, 11, 1, false}, {fifo, 10, 1, false},
	} {
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
				"notifications_queue_arn": cty.StringVal(c.queue),
				"batch_size":              cty.NumberIntVal(c.size), "maximum_batching_window_in_seconds": cty.NumberIntVal(c.window),
			})},
			Functions: map[string]function.Function{"endswith": endsWith},
		}
		ok := true
		for _, cond := range conds {
			v, diags := cond.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("precondition: %s", diags.Error())
			}
			ok = ok && v.True()
		}
		if ok != c.ok {
			t.Errorf("%s, batch %d, window %d: preconditions hold %v, want %v", c.queue, c.size, c.window, ok, c.ok)
		}
	}
}

// endsWith is Terraform's endswith function, which cty's stdlib lacks.
var endsWith = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "suffix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.HasSuffix(args[0].AsString(), args[1].AsString())), nil
	},
})

func TestOutputs(t *testing.T) {
	cfg := load(t, moduleDir)
	for _, name := range []string{"function_name", "function_arn", "function_invoke_arn", "role_arn", "poison_queue_url", "poison_queue_arn"} {
		if len(cfg.find("output", name)) != 1 {
			t.Errorf("no output %s", name)
		}
	}
	for _, o := range cfg.find("output") {
		if _, ok := o.Body.Attributes["description"]; !ok {
			t.Errorf("output %s: no description", o.Labels[0])
		}
	}
}

// ---- the example ----

// moduleCall is the example's call of the module, and the module it calls.
func moduleCall(t *testing.T, dir string) (block, *config) {
	t.Helper()
	cfg := load(t, dir)
	call := cfg.one(t, "module", "pusher")
	src, err := literalString(call.Body.Attributes["source"].Expr)
	if err != nil {
		t.Fatal(err)
	}
	if src != "../../terraform" {
		t.Errorf("source = %q, want ../../terraform", src)
	}
	return call, load(t, filepath.Join(dir, src))
}

var moduleMetaArgs = []string{"source", "version", "providers", "depends_on", "count", "for_each"}

func TestExampleCallsModuleWithEveryInput(t *testing.T) {
	call, mod := moduleCall(t, exampleDir)
	declared := map[string]bool{}
	for _, v := range mod.find("variable") {
		name := v.Labels[0]
		declared[name] = true
		_, hasDefault := v.Body.Attributes["default"]
		_, passed := call.Body.Attributes[name]
		if !hasDefault && !passed {
			t.Errorf("required input %s not passed", name)
		}
		if _, original := originalInputs[name]; original && !passed {
			t.Errorf("the Python module's input %s not passed", name)
		}
	}
	for name := range call.Body.Attributes {
		if !declared[name] && !slices.Contains(moduleMetaArgs, name) {
			t.Errorf("argument %s is no input of the module", name)
		}
	}
}

// TestExampleSourceInputsKnownWhenPlanning: the module decides with count whether its
// event source mapping and subscription exist, from notifications_queue_arn and
// notifications_topic_arn. Terraform refuses to plan a count it cannot know, and the arn
// of a queue created in the same apply is unknown when planning. The inputs a count
// depends on may only refer to variables, data sources, and arguments written in the
// resource's block (a name), not to attributes AWS computes (arn, id, url).
func TestExampleSourceInputsKnownWhenPlanning(t *testing.T) {
	call, mod := moduleCall(t, exampleDir)
	cfg := load(t, exampleDir)
	modLocals := mod.locals()
	countInputs := map[string]bool{}
	for _, b := range mod.blocks {
		if b.Type != "resource" && b.Type != "data" {
			continue
		}
		for _, meta := range []string{"count", "for_each"} {
			if a, ok := b.Body.Attributes[meta]; ok {
				for _, r := range expandLocals(exprRefs(a.Expr, nil), modLocals) {
					if name, ok := strings.CutPrefix(r, "var."); ok {
						countInputs[name] = true
					}
				}
			}
		}
	}
	if !countInputs["notifications_queue_arn"] || !countInputs["notifications_topic_arn"] {
		t.Errorf("inputs counts depend on: %v; want the two notification ARNs among them", countInputs)
	}
	locals := cfg.locals()
	for name := range countInputs {
		a, ok := call.Body.Attributes[name]
		if !ok {
			continue
		}
		var traversals []hcl.Traversal
		var walk func(hclsyntax.Expression, map[string]bool)
		walk = func(e hclsyntax.Expression, seen map[string]bool) {
			for _, tr := range hclsyntax.Variables(e) {
				if l, ok := strings.CutPrefix(refName(tr), "local."); ok {
					if e, ok := locals[l]; ok && !seen[l] {
						seen[l] = true
						walk(e, seen)
					}
					continue
				}
				traversals = append(traversals, tr)
			}
		}
		walk(a.Expr, map[string]bool{})
		for _, tr := range traversals {
			switch tr.RootName() {
			case "var", "data", "each", "count", "path", "terraform":
				continue
			case "module":
				t.Errorf("input %s depends on %s, a module's output", name, refName(tr))
				continue
			}
			ref := refName(tr)
			parts := strings.SplitN(ref, ".", 2)
			res := cfg.find("resource", parts[0], parts[1])
			attr, _ := tr[len(tr)-1].(hcl.TraverseAttr)
			if len(res) != 1 || len(tr) != 3 {
				t.Errorf("input %s depends on %s", name, ref)
				continue
			}
			if _, written := res[0].Body.Attributes[attr.Name]; !written {
				t.Errorf("input %s depends on %s.%s, which AWS computes: Terraform cannot plan the module's count", name, ref, attr.Name)
			}
		}
	}
}

// TestReferencesResolve checks, as terraform validate would, that every var., local.,
// data., module. and resource reference names something declared.
func TestReferencesResolve(t *testing.T) {
	for _, dir := range []string{moduleDir, exampleDir} {
		t.Run(dir, func(t *testing.T) {
			cfg := load(t, dir)
			declared := map[string]bool{}
			modules := map[string]*config{}
			for _, b := range cfg.blocks {
				switch b.Type {
				case "variable":
					declared["var."+b.Labels[0]] = true
				case "resource":
					declared[b.Labels[0]+"."+b.Labels[1]] = true
				case "data":
					declared["data."+b.Labels[0]+"."+b.Labels[1]] = true
				case "module":
					src, err := literalString(b.Body.Attributes["source"].Expr)
					if err != nil {
						t.Fatal(err)
					}
					modules[b.Labels[0]] = load(t, filepath.Join(dir, src))
				}
			}
			for name := range cfg.locals() {
				declared["local."+name] = true
			}
			for _, b := range cfg.blocks {
				if b.Type == "terraform" {
					continue
				}
				for _, r := range blockRefs(b) {
					if resolves(r, declared, modules) {
						continue
					}
					t.Errorf("%s %q refers to %s, which is not declared", b.Type, b.Labels, r)
				}
			}
		})
	}
}

func resolves(ref string, declared map[string]bool, modules map[string]*config) bool {
	if declared[ref] {
		return true
	}
	if rest, ok := strings.CutPrefix(ref, "module."); ok {
		name, out, _ := strings.Cut(rest, ".")
		return modules[name] != nil && len(modules[name].find("output", out)) == 1
	}
	return false
}

// ---- dependency cycles ----

// graph maps each object of the example and of the module it calls, as Terraform plans
// them, to the objects it refers to.
type graph map[string][]string

// addConfig adds cfg's objects to g with their names prefixed by prefix. inputs maps a
// module's variable to the node of the argument its caller passes it.
func (g graph) addConfig(t *testing.T, cfg *config, prefix string, inputs map[string]string) {
	t.Helper()
	node := func(ref string) string {
		if rest, ok := strings.CutPrefix(ref, "module."); ok {
			name, out, _ := strings.Cut(rest, ".")
			return prefix + "module." + name + ":output." + out
		}
		return prefix + ref
	}
	link := func(from string, refs []string) {
		for _, r := range refs {
			g[from] = append(g[from], node(r))
		}
	}
	for _, b := range cfg.blocks {
		switch b.Type {
		case "resource":
			link(prefix+b.Labels[0]+"."+b.Labels[1], bodyRefs(b.Body, nil))
		case "data":
			link(prefix+"data."+b.Labels[0]+"."+b.Labels[1], bodyRefs(b.Body, nil))
		case "output":
			link(prefix+"output."+b.Labels[0], bodyRefs(b.Body, nil))
		case "locals":
			for name, a := range b.Body.Attributes {
				link(prefix+"local."+name, exprRefs(a.Expr, nil))
			}
		case "variable":
			if in, ok := inputs[b.Labels[0]]; ok {
				g[prefix+"var."+b.Labels[0]] = append(g[prefix+"var."+b.Labels[0]], in)
			}
		case "module":
			name := b.Labels[0]
			child := prefix + "module." + name + ":"
			childInputs := map[string]string{}
			for arg, a := range b.Body.Attributes {
				if slices.Contains(moduleMetaArgs, arg) {
					continue
				}
				in := prefix + "module." + name + ".input." + arg
				childInputs[arg] = in
				link(in, exprRefs(a.Expr, nil))
			}
			src, err := literalString(b.Body.Attributes["source"].Expr)
			if err != nil {
				t.Fatal(err)
			}
			g.addConfig(t, load(t, filepath.Join(cfg.dir, src)), child, childInputs)
		}
	}
}

// cycle returns a cycle of g, or nil.
func (g graph) cycle() []string {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var path []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case visiting:
			i := slices.Index(path, n)
			return append(slices.Clone(path[i:]), n)
		case done:
			return nil
		}
		state[n] = visiting
		path = append(path, n)
		for _, m := range g[n] {
			if c := visit(m); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	nodes := make([]string, 0, len(g))
	for n := range g {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}

func exampleGraph(t *testing.T, dir string) graph {
	g := graph{}
	g.addConfig(t, load(t, dir), "", nil)
	return g
}

// TestExampleHasNoCycle: Terraform refuses a configuration whose objects depend on each
// other in a circle. The easy one to write here: building the module's apigw_endpoint or
// agma_arn from the stage, whose deployment needs the routes, whose integration needs the
// function, which needs those inputs.
func TestExampleHasNoCycle(t *testing.T) {
	if c := exampleGraph(t, exampleDir).cycle(); c != nil {
		t.Errorf("cycle: %s", strings.Join(c, " -> "))
	}

	// And the check sees that one.
	root := t.TempDir()
	copyTF(t, moduleDir, filepath.Join(root, "terraform"))
	example := filepath.Join(root, "examples", "complete")
	copyTF(t, exampleDir, example)
	edit(t, filepath.Join(example, "main.tf"),
		`/${var.stage_name}/POST/@connections"`, `/${aws_apigatewayv2_stage.ws.name}/POST/@connections"`)
	c := exampleGraph(t, example).cycle()
	if c == nil {
		t.Fatal("no cycle found with agma_arn built from the stage")
	}
	t.Logf("cycle: %s", strings.Join(c, " -> "))
}

// ---- helpers ----

// copyTF copies the .tf files of src into dst.
func copyTF(t *testing.T, src, dst string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(src, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files in %s (%v)", src, err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// edit replaces the one occurrence of old in the file at path with new.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once: the edit is stale", path, old, n)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
