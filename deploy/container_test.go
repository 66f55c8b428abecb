package deploy_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testenv"
)

// instruction is one Containerfile line: its keyword and the rest.
type instruction struct {
	op, args string
}

// parseContainerfile joins continued lines, drops comments and returns the
// instructions in order.
func parseContainerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		op, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{strings.ToUpper(op), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestContainerfileIsStaticNonRootFromScratch checks the image definition
// without building it: FROM scratch, a non-root USER, the data directory as
// a VOLUME, a HEALTHCHECK that runs the binary (scratch has no shell),
// EXPOSE, labels.
func TestContainerfileIsStaticNonRootFromScratch(t *testing.T) {
	ins := parseContainerfile(t, "Containerfile")
	all := func(op string) []string {
		var v []string
		for _, i := range ins {
			if i.op == op {
				v = append(v, i.args)
			}
		}
		return v
	}
	if from := all("FROM"); len(from) != 1 || from[0] != "scratch" {
		t.Errorf("FROM %v, want only scratch (no base image can be pulled here, and none is needed)", from)
	}
	if user := all("USER"); len(user) != 1 || user[0] != "65532:65532" {
		t.Errorf("USER %v, want 65532:65532", user)
	}
	if last := ins[len(ins)-1]; last.op != "CMD" || last.args != `["serve"]` {
		t.Errorf("last instruction %v, want CMD [\"serve\"]", last)
	}
	if v := all("VOLUME"); len(v) != 1 || v[0] != `["/data"]` {
		t.Errorf("VOLUME %v, want [\"/data\"]", v)
	}
	env := strings.Join(all("ENV"), " ")
	for _, kv := range []string{"LATCHKEY_DATA_DIR=/data", "LATCHKEY_LISTEN=0.0.0.0:8080", "TMPDIR=/tmp"} {
		if !strings.Contains(env, kv) {
			t.Errorf("ENV %q lacks %s", env, kv)
		}
	}
	if v := all("EXPOSE"); len(v) != 1 || v[0] != "8080" {
		t.Errorf("EXPOSE %v, want 8080 (the port of LATCHKEY_LISTEN)", v)
	}
	hc := all("HEALTHCHECK")
	if len(hc) != 1 || !strings.HasSuffix(hc[0], `CMD ["/latchkey", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %v, want the exec form of /latchkey healthcheck (no shell FROM scratch)", hc)
	}
	if v := all("ENTRYPOINT"); len(v) != 1 || v[0] != `["/latchkey"]` {
		t.Errorf("ENTRYPOINT %v", v)
	}
	labels := strings.Join(all("LABEL"), " ")
	for _, l := range []string{"org.opencontainers.image.title=", "org.opencontainers.image.version=", "org.opencontainers.image.source=", "org.opencontainers.image.revision="} {
		if !strings.Contains(labels, l) {
			t.Errorf("no label %s", l)
		}
	}
	// Everything the image holds is COPYed; nothing is RUN (no shell).
	if r := all("RUN"); len(r) > 0 {
		t.Errorf("RUN %v: an image FROM scratch has no shell to run it", r)
	}
}

// imageConfig is the part of `podman image inspect` this test reads
// (podman puts the health check beside Config, not in it).
type imageConfig struct {
	Config      containerConfig
	Healthcheck *struct{ Test []string }
}

type containerConfig struct {
	User         string
	Env          []string
	Entrypoint   []string
	Cmd          []string
	Volumes      map[string]struct{}
	ExposedPorts map[string]struct{}
	Labels       map[string]string
	Healthcheck  *struct{ Test []string } `json:"-"`
}

// TestContainerImageBuildsAndServes builds the image with podman through
// deploy/container/build.sh, inspects it, runs its file system as the
// image says (user 65532, its environment, entrypoint and command) and
// checks the HEALTHCHECK command, /readyz and the first start's password;
// then tries `podman run` itself.
func TestContainerImageBuildsAndServes(t *testing.T) {
	podman := testenv.LookPath(t, "podman", "Debian package podman")
	bin := staticBinary(t)
	tag := "localhost/latchkey-deploy-test:" + randomHex(t)
	build := exec.Command("container/build.sh", tag)
	build.Env = append(os.Environ(), "BUILDER=podman", "BINARY="+bin, "VERSION=test")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("deploy/container/build.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })

	out, err := exec.Command(podman, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var imgs []imageConfig
	if err := json.Unmarshal(out, &imgs); err != nil || len(imgs) != 1 {
		t.Fatalf("podman image inspect: %v: %s", err, out)
	}
	cfg := imgs[0].Config
	cfg.Healthcheck = imgs[0].Healthcheck
	if cfg.User != "65532:65532" {
		t.Errorf("image user %q", cfg.User)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("image volumes %v lack /data", cfg.Volumes)
	}
	if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("image ports %v lack 8080/tcp", cfg.ExposedPorts)
	}
	if cfg.Healthcheck == nil || !slices.Equal(cfg.Healthcheck.Test, []string{"CMD", "/latchkey", "healthcheck"}) {
		t.Errorf("image health check %+v: was it built in the docker format?", cfg.Healthcheck)
	}
	if cfg.Labels["org.opencontainers.image.version"] != "test" || cfg.Labels["org.opencontainers.image.title"] != "Latchkey" {
		t.Errorf("image labels %v", cfg.Labels)
	}

	root := exportImage(t, podman, tag)
	owner := func(p string) (uint32, os.FileMode) {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatalf("the image has no %s: %v", p, err)
		}
		return fi.Sys().(*syscall.Stat_t).Uid, fi.Mode()
	}
	if uid, mode := owner("data"); uid != 65532 || !mode.IsDir() {
		t.Errorf("/data: owner %d mode %v, want a directory of 65532 (the volume is created from it)", uid, mode)
	}
	if _, mode := owner("tmp"); mode&os.ModeSticky == 0 || mode.Perm() != 0o777 {
		t.Errorf("/tmp mode %v, want 1777", mode)
	}
	owner("etc/ssl/certs/ca-certificates.crt")
	if uid, mode := owner("latchkey"); uid != 0 || mode.Perm()&0o022 != 0 {
		t.Errorf("/latchkey: owner %d mode %v; the running user must not be able to replace it", uid, mode)
	}

	t.Run("file system runs as the image says", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("running the image's file system in a chroot as user 65532 needs root (CI runs as root)")
		}
		runChrooted(t, root, cfg)
	})

	t.Run("podman run", func(t *testing.T) {
		port := freePort(t)
		name := "latchkey-deploy-test-" + randomHex(t)
		run := exec.Command(podman, "run", "-d", "--name", name, "--network", "host",
			"-e", "LATCHKEY_LISTEN=127.0.0.1:"+port, "-e", "LATCHKEY_ADMIN_PASSWORD=correct-horse-battery", tag)
		out, err := run.CombinedOutput()
		t.Cleanup(func() { exec.Command(podman, "rm", "-f", "-v", name).Run() })
		if err != nil {
			// In this project's sandbox the OCI runtime (crun and runc
			// alike) is refused setrlimit(RLIMIT_NOFILE/NPROC) while it
			// sets up the container, whatever --ulimit says: no container
			// can start. The image's file system was run above instead.
			msg := strings.ToLower(string(out))
			if strings.Contains(msg, "rlimit") && (strings.Contains(msg, "permission denied") || strings.Contains(msg, "not permitted")) {
				t.Skipf("podman run cannot start any container on this machine (the OCI runtime is denied setrlimit): %s", lastLines(string(out), 1))
			}
			t.Fatalf("podman run: %v\n%s", err, out)
		}
		waitHealthy(t, "http://127.0.0.1:"+port)
		if out, err := exec.Command(podman, "healthcheck", "run", name).CombinedOutput(); err != nil {
			t.Errorf("podman healthcheck run: %v\n%s", err, out)
		}
	})
}

// runChrooted starts the image's entrypoint and command in a chroot of its
// file system as its user with its environment, and checks what an
// operator would: the server listens, the HEALTHCHECK command passes, the
// database lands in the volume, owned by the image's user.
func runChrooted(t *testing.T, root string, cfg containerConfig) {
	t.Helper()
	port := freePort(t)
	env := append(slices.Clone(cfg.Env), "LATCHKEY_LISTEN=127.0.0.1:"+port)
	chroot := func(argv ...string) *exec.Cmd {
		cmd := exec.Command("chroot", append([]string{"--userspec=" + cfg.User, root}, argv...)...)
		cmd.Env = env
		return cmd
	}
	var logs bytes.Buffer
	srv := chroot(append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)...)
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatalf("start %v in the image's file system: %v", srv.Args, err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	})
	waitHealthy(t, "http://127.0.0.1:"+port)

	if cfg.Healthcheck == nil || len(cfg.Healthcheck.Test) < 2 || cfg.Healthcheck.Test[0] != "CMD" {
		t.Fatalf("the image has no exec-form health check to run: %+v", cfg.Healthcheck)
	}
	hc := cfg.Healthcheck.Test[1:] // ["CMD", argv...]
	if out, err := chroot(hc...).CombinedOutput(); err != nil {
		t.Errorf("the image's HEALTHCHECK %v failed against a running server: %v\n%s", hc, err, out)
	}
	resp, err := http.Get("http://127.0.0.1:" + port + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz: %v %v", resp, err)
	}
	resp.Body.Close()

	fi, err := os.Stat(filepath.Join(root, "data", "latchkey.db"))
	if err != nil {
		t.Fatalf("no database in the /data volume: %v\n%s", err, logs.String())
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 65532 {
		t.Errorf("latchkey.db owned by %d, want 65532", uid)
	}
	srv.Process.Signal(syscall.SIGTERM)
	srv.Wait()
	if !strings.Contains(logs.String(), "First start: created the owner account.") || !strings.Contains(logs.String(), "password: ") {
		t.Errorf("the first start printed no owner password:\n%s", logs.String())
	}
	// After SIGTERM the health check fails, with exit 1.
	err = chroot(hc...).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("HEALTHCHECK against a stopped server: %v, want exit 1", err)
	}
}

// exportImage unpacks the image's file system (podman create + export,
// which starts no container) into a temporary directory, keeping owners.
func exportImage(t *testing.T, podman, tag string) string {
	t.Helper()
	out, err := exec.Command(podman, "create", tag).Output()
	if err != nil {
		t.Fatalf("podman create: %v", err)
	}
	id := strings.TrimSpace(string(out))
	defer exec.Command(podman, "rm", "-f", "-v", id).Run() // -v: and its anonymous /data volume
	exp := exec.Command(podman, "export", id)
	pipe, err := exp.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	tr := tar.NewReader(pipe)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read podman export: %v", err)
		}
		p := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Fatalf("unexpected entry %s (type %c) in the image", h.Name, h.Typeflag)
		}
		os.Chmod(p, os.FileMode(h.Mode).Perm()|modeBits(h.Mode))
		os.Lchown(p, h.Uid, h.Gid)
	}
	if err := exp.Wait(); err != nil {
		t.Fatalf("podman export: %v", err)
	}
	return root
}

// modeBits maps the tar header's setuid/setgid/sticky bits to os.FileMode.
func modeBits(m int64) os.FileMode {
	var fm os.FileMode
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	if m&0o2000 != 0 {
		fm |= os.ModeSetgid
	}
	if m&0o4000 != 0 {
		fm |= os.ModeSetuid
	}
	return fm
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz did not answer 200 within 60s: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
