package deploytest

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// TestDockerfileBuildsAStaticNonRootManager runs the Dockerfile's build stage without a
// Docker engine: only what its COPY lines bring, built by its RUN line. The binary must
// be static (the final image has no libc) and the final stage must run it as non-root.
func TestDockerfileBuildsAStaticNonRootManager(t *testing.T) {
	root := testenv.RepoRoot()
	stages := readDockerfile(t, filepath.Join(root, "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}

	context := t.TempDir()
	var build string
	for _, line := range stages[0] {
		switch instr, args, _ := strings.Cut(line, " "); instr {
		case "COPY":
			// As Docker does: a directory's contents go into the destination directory,
			// a file goes into it under its own name.
			fields := strings.Fields(args)
			destArg := fields[len(fields)-1]
			if !strings.HasSuffix(destArg, "/") {
				t.Fatalf("COPY %s: the test handles destination directories only", args)
			}
			for _, src := range fields[:len(fields)-1] {
				target := filepath.Join(context, destArg)
				if info, err := os.Stat(filepath.Join(root, src)); err == nil && !info.IsDir() {
					target = filepath.Join(target, filepath.Base(src))
				}
				copyPath(t, filepath.Join(root, src), target)
			}
		case "RUN":
			if strings.Contains(args, "go build") {
				build = args
			}
		}
	}
	if build == "" {
		t.Fatal("the build stage has no go build")
	}
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = context
	cmd.Env = append(os.Environ(), "TARGETOS=linux", "TARGETARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the Dockerfile's build (%s) fails with only what it copies: %v\n%s", build, err, out)
	}
	bin, err := elf.Open(filepath.Join(context, "manager"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the manager is dynamically linked; the distroless static image has no libc")
		}
	}

	final := strings.Join(stages[1], "\n")
	for _, want := range []string{"FROM gcr.io/distroless/static:nonroot", "COPY --from=builder /workspace/manager /manager", "USER 65532:65532", `ENTRYPOINT ["/manager"]`} {
		if !strings.Contains(final, want) {
			t.Errorf("the runtime stage lacks %q:\n%s", want, final)
		}
	}
}

// readDockerfile returns the instructions of each stage, without comments.
func readDockerfile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], line)
	}
	return stages
}

// copyPath copies a file or a directory tree.
func copyPath(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}
