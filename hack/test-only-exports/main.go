// Command test-only-exports fails when an exported identifier of this module is used only
// by tests, or by nothing at all: such an identifier is API that the product does not
// need, kept alive by its tests. `make lint` runs it.
//
// It type-checks the module's packages with their tests and records, for every exported
// package-level constant, variable, function and type and every exported method declared
// in a non-test, non-generated file, where it is referred to. An identifier referred to
// only from _test.go files is reported unless the allowlist names it, its type or its
// package with a reason; one referred to from nowhere is always reported.
//
// Methods are called through interfaces too, which leaves no reference to find, so a
// method is never reported when its type implements an interface, declared by the module
// or a package it depends on, that has the method (String, Error, Reconcile, ServeHTTP,
// ...), nor when it is Unwrap, Is or As, which the errors package calls. The values of a
// parenthesized const block count as used when one of them is: an enumeration is kept
// whole.
//
// The allowlist exempts test-support API (a package that exists for tests, or the
// simulator's test-control methods) from "used only by tests", never from "used by
// nothing".
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

func main() {
	allowPath := flag.String("allow", "hack/test-only-exports/allowlist.txt", "Identifiers and packages exempt from the check, each with a reason.")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: test-only-exports [-allow FILE] [packages] (default ./...)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	patterns := flag.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	n, err := run(".", patterns, *allowPath, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test-only-exports:", err)
		os.Exit(2)
	}
	if n > 0 {
		fmt.Fprintf(os.Stderr, "test-only-exports: %d problem(s): unexport or delete what only tests use, move it into a _test.go file, or allowlist it in %s with the reason\n", n, *allowPath)
		os.Exit(1)
	}
}

// decl is an exported identifier declared in a non-test file.
type decl struct {
	key    string // pkgpath.Name or pkgpath.Type.Method
	pos    token.Position
	method *types.Func // nil for a package-level identifier
	// group is where the parenthesized const block that declares the constant starts:
	// the values of an enumeration count as used when one of them is.
	group string
}

// uses counts the references to one identifier.
type uses struct{ test, nonTest int }

// run checks the packages that patterns match in dir and writes one line per problem to
// w; it returns how many it wrote.
func run(dir string, patterns []string, allowPath string, w io.Writer) (int, error) {
	allow, err := readAllowlist(allowPath)
	if err != nil {
		return 0, err
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
			packages.NeedImports | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo |
			packages.NeedModule,
		Dir:   dir,
		Tests: true,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return 0, err
	}
	var loadErrs []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			loadErrs = append(loadErrs, e.Error())
		}
	})
	if len(loadErrs) > 0 {
		return 0, fmt.Errorf("loading packages:\n%s", strings.Join(loadErrs, "\n"))
	}

	modulePath := ""
	for _, p := range pkgs {
		if p.Module != nil && p.Module.Main {
			modulePath = p.Module.Path
			break
		}
	}
	if modulePath == "" {
		return 0, errors.New("no package of the main module matched")
	}
	inModule := func(path string) bool {
		return path == modulePath || strings.HasPrefix(path, modulePath+"/")
	}

	decls := map[string]decl{}
	refs := map[string]*uses{}
	ifaces := interfaceSet{byMethod: map[string][]*types.Interface{}, seen: map[*types.Package]bool{}}

	for _, p := range pkgs {
		// p.test is the generated test main; its files live in the build cache.
		if strings.HasSuffix(p.ID, ".test") {
			continue
		}
		ifaces.addPackage(p.Types)
		for _, tv := range p.TypesInfo.Types {
			ifaces.add(tv.Type)
		}
		// The package without its tests declares what is checked.
		if p.ID == p.PkgPath && !strings.HasSuffix(p.PkgPath, "_test") {
			for _, d := range declarations(p) {
				decls[d.key] = d
			}
		}
		for id, obj := range p.TypesInfo.Uses {
			if obj.Pkg() == nil || !inModule(obj.Pkg().Path()) || !obj.Exported() {
				continue
			}
			k := objectKey(obj)
			if k == "" {
				continue
			}
			u := refs[k]
			if u == nil {
				u = &uses{}
				refs[k] = u
			}
			if strings.HasSuffix(p.Fset.Position(id.Pos()).Filename, "_test.go") {
				u.test++
			} else {
				u.nonTest++
			}
		}
	}

	type problem struct {
		pos  token.Position
		text string
	}
	usedGroups := map[string]bool{}
	for k, d := range decls {
		if u := refs[k]; u != nil && u.nonTest > 0 && d.group != "" {
			usedGroups[d.group] = true
		}
	}
	var problems []problem
	matched := map[string]bool{}
	for k, d := range decls {
		u := refs[k]
		switch {
		case u != nil && u.nonTest > 0:
			continue
		case d.group != "" && usedGroups[d.group]:
			continue
		case d.method != nil && (dynamicMethods[d.method.Name()] || ifaces.satisfies(d.method)):
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(k, modulePath), "/")
		if u == nil {
			// Dead whatever the allowlist says.
			problems = append(problems, problem{d.pos, fmt.Sprintf("exported %s is used by nothing", rel)})
			continue
		}
		if entry, ok := allow.match(rel); ok {
			matched[entry] = true
			continue
		}
		problems = append(problems, problem{d.pos, fmt.Sprintf("exported %s is used only by tests", rel)})
	}
	sort.Slice(problems, func(i, j int) bool {
		a, b := problems[i].pos, problems[j].pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Line < b.Line
	})
	wd, _ := filepath.Abs(dir)
	for _, p := range problems {
		name := p.pos.Filename
		if r, err := filepath.Rel(wd, name); err == nil {
			name = r
		}
		fmt.Fprintf(w, "%s:%d:%d: %s\n", name, p.pos.Line, p.pos.Column, p.text)
	}
	n := len(problems)
	for _, e := range allow.entries {
		if !matched[e] {
			fmt.Fprintf(w, "%s: allowlist entry %s matches nothing; remove it\n", allowPath, e)
			n++
		}
	}
	return n, nil
}

// declarations lists the exported identifiers declared in p's non-test, non-generated
// files.
func declarations(p *packages.Package) []decl {
	skip := map[string]bool{} // generated or test files
	for i, f := range p.Syntax {
		if ast.IsGenerated(f) || strings.HasSuffix(p.CompiledGoFiles[i], "_test.go") {
			skip[p.CompiledGoFiles[i]] = true
		}
	}
	groups := map[types.Object]string{}
	for i, f := range p.Syntax {
		if skip[p.CompiledGoFiles[i]] {
			continue
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST || !gd.Lparen.IsValid() || len(gd.Specs) < 2 {
				continue
			}
			for _, spec := range gd.Specs {
				for _, name := range spec.(*ast.ValueSpec).Names {
					if obj := p.TypesInfo.Defs[name]; obj != nil {
						groups[obj] = p.Fset.Position(gd.Pos()).String()
					}
				}
			}
		}
	}
	var out []decl
	add := func(obj types.Object, method *types.Func) {
		pos := p.Fset.Position(obj.Pos())
		if skip[pos.Filename] {
			return
		}
		if k := objectKey(obj); k != "" {
			out = append(out, decl{key: k, pos: pos, method: method, group: groups[obj]})
		}
	}
	scope := p.Types.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if obj.Exported() {
			add(obj, nil)
		}
		tn, ok := obj.(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		named, ok := tn.Type().(*types.Named)
		if !ok {
			continue
		}
		// Exported methods count on unexported types too: they are reachable through
		// exported functions that return such a type.
		for i := 0; i < named.NumMethods(); i++ {
			if m := named.Method(i); m.Exported() {
				add(m, m)
			}
		}
	}
	return out
}

// objectKey names a package-level object or a method of a named type; "" for anything
// else (fields, locals, interface methods).
func objectKey(obj types.Object) string {
	pkg := obj.Pkg().Path()
	if fn, ok := obj.(*types.Func); ok {
		sig, _ := fn.Type().(*types.Signature)
		if sig != nil && sig.Recv() != nil {
			t := sig.Recv().Type()
			if ptr, ok := t.(*types.Pointer); ok {
				t = ptr.Elem()
			}
			named, ok := t.(*types.Named)
			if !ok {
				return "" // an interface method
			}
			if _, isIface := named.Underlying().(*types.Interface); isIface {
				return ""
			}
			// Methods of instantiated generic types resolve to their origin.
			return pkg + "." + named.Origin().Obj().Name() + "." + fn.Origin().Name()
		}
	}
	if obj.Parent() != obj.Pkg().Scope() {
		return ""
	}
	return pkg + "." + obj.Name()
}

// dynamicMethods are called by the standard library through interfaces it declares inside
// functions (errors.Is, errors.As, errors.Unwrap), which no package scope shows.
var dynamicMethods = map[string]bool{"Unwrap": true, "Is": true, "As": true}

// interfaceSet holds the interfaces the module and its dependencies declare, indexed by
// method name.
type interfaceSet struct {
	byMethod map[string][]*types.Interface
	seen     map[*types.Package]bool
	generic  map[string]bool // method names of generic interfaces, matched by name alone
}

// addPackage adds the package-level interfaces of pkg and of every package it imports,
// directly or not.
func (s *interfaceSet) addPackage(pkg *types.Package) {
	if pkg == nil || s.seen[pkg] {
		return
	}
	s.seen[pkg] = true
	scope := pkg.Scope()
	for _, n := range scope.Names() {
		if tn, ok := scope.Lookup(n).(*types.TypeName); ok {
			s.add(tn.Type())
		}
	}
	for _, imp := range pkg.Imports() {
		s.addPackage(imp)
	}
}

func (s *interfaceSet) add(t types.Type) {
	if t == nil {
		return
	}
	iface, ok := t.Underlying().(*types.Interface)
	if !ok {
		return
	}
	if named, ok := t.(*types.Named); ok && named.TypeParams().Len() > named.TypeArgs().Len() {
		if s.generic == nil {
			s.generic = map[string]bool{}
		}
		for i := 0; i < iface.NumMethods(); i++ {
			s.generic[iface.Method(i).Name()] = true
		}
		return
	}
	for i := 0; i < iface.NumMethods(); i++ {
		name := iface.Method(i).Name()
		s.byMethod[name] = append(s.byMethod[name], iface)
	}
}

// satisfies reports whether m's receiver type, or a pointer to it, implements an
// interface that has m: then m may be called through that interface, where no reference
// to m shows.
func (s *interfaceSet) satisfies(m *types.Func) bool {
	if s.generic[m.Name()] {
		return true
	}
	recv := m.Type().(*types.Signature).Recv().Type()
	if ptr, ok := recv.(*types.Pointer); ok {
		recv = ptr.Elem()
	}
	ptr := types.NewPointer(recv)
	for _, iface := range s.byMethod[m.Name()] {
		if types.Implements(recv, iface) || types.Implements(ptr, iface) {
			return true
		}
	}
	return false
}

// allowlist holds the exemptions from "used only by tests": a package (internal/testenv),
// a type with its methods (internal/dataversesim.Environment) or one identifier
// (internal/dataversesim.NewTestServer, internal/dataversesim.Server.Faults), relative to
// the module path, each followed by "# reason". Nothing exempts what nothing uses.
type allowlist struct{ entries []string }

func readAllowlist(path string) (allowlist, error) {
	var a allowlist
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		entry, reason, _ := strings.Cut(text, "#")
		entry = strings.TrimSpace(entry)
		if strings.TrimSpace(reason) == "" || strings.ContainsAny(entry, " \t") {
			return a, fmt.Errorf("%s:%d: want \"IDENTIFIER-OR-PACKAGE # reason\", got %q", path, line, text)
		}
		a.entries = append(a.entries, entry)
	}
	return a, sc.Err()
}

// match returns the entry that exempts rel (pkg.Name or pkg.Type.Method): the identifier
// itself, or its package.
func (a allowlist) match(rel string) (string, bool) {
	for _, e := range a.entries {
		if rel == e {
			return e, true
		}
		if strings.HasPrefix(rel, e+".") && !strings.Contains(rel[len(e)+1:], "/") {
			return e, true
		}
	}
	return "", false
}
