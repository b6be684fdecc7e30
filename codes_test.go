package interlock_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmittedCodesAreExported reads every non-test Go file of the module
// and checks that each reason code the library emits is an exported
// constant, never a string written in place or an unexported name: a
// service branches on codes, so each must be a name it can import. It
// looks at Code: fields of composite literals, the code argument of the
// gate package's fail helper, and conversions to Code.
func TestEmittedCodesAreExported(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		check := func(e ast.Expr, what string) {
			checked++
			switch v := e.(type) {
			case *ast.BasicLit:
				t.Errorf("%s: %s is the literal %s; use an exported Code constant", fset.Position(e.Pos()), what, v.Value)
			case *ast.Ident:
				if !ast.IsExported(v.Name) && v.Name != "code" {
					t.Errorf("%s: %s is %s, which is not exported", fset.Position(e.Pos()), what, v.Name)
				}
			case *ast.SelectorExpr:
				if !ast.IsExported(v.Sel.Name) {
					t.Errorf("%s: %s is %s, which is not exported", fset.Position(e.Pos()), what, v.Sel.Name)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.KeyValueExpr:
				if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Code" {
					check(x.Value, "a Code field")
				}
			case *ast.CallExpr:
				name := ""
				switch fn := x.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				// fail is the gate package's helper that emits a code;
				// other packages' functions of that name are not.
				isGateFail := name == "fail" && filepath.Dir(path) == "gate"
				if (isGateFail || name == "Code") && len(x.Args) > 0 {
					if lit, ok := x.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING || isGateFail {
						check(x.Args[0], name+"'s code")
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d code sites found; the test no longer sees the library's codes", checked)
	}
}
