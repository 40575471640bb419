package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one started component: its PID, the binary it runs and its log.
// It is what the state file records, so another process can stop it.
type Process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Bin  string `json:"bin"`
	Log  string `json:"log"`

	done chan struct{} // closed when the child is reaped; nil if not our child
}

// StartProcess starts bin with args in its own process group, stdout and
// stderr appended to <logDir>/<name>.log. With dieWithParent the kernel
// SIGKILLs the process when the starting process dies (Pdeathsig): a test
// binary that panics or hits `go test -timeout` then leaves nothing behind.
func StartProcess(name, bin string, args []string, logDir string, dieWithParent bool) (*Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if dieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, PID: cmd.Process.Pid, Bin: bin, Log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // reap; the exit status is visible in the log and via Alive
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Alive reports whether the process still runs (a zombie counts as gone).
func (p *Process) Alive() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	return pidRuns(p.PID, p.Bin)
}

// pidRuns reports whether pid is a live (non-zombie) process running bin,
// which guards against a recycled PID when stopping from a state file.
func pidRuns(pid int, bin string) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	if bin == "" {
		return true
	}
	if resolved, err := filepath.EvalSymlinks(bin); err == nil {
		bin = resolved
	}
	return strings.TrimSuffix(exe, " (deleted)") == bin
}

// Stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs
// the group. It is a no-op for a process that already exited.
func (p *Process) Stop(grace time.Duration) error {
	if !p.Alive() {
		return nil
	}
	if err := syscall.Kill(-p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("SIGTERM %s (pid %d): %w", p.Name, p.PID, err)
	}
	if p.waitGone(grace) {
		return nil
	}
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("SIGKILL %s (pid %d): %w", p.Name, p.PID, err)
	}
	if !p.waitGone(5 * time.Second) {
		return fmt.Errorf("%s (pid %d) still running after SIGKILL", p.Name, p.PID)
	}
	return nil
}

// Kill sends SIGKILL to the process group at once (fault injection).
func (p *Process) Kill() error { return p.Stop(0) }

func (p *Process) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !p.Alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LogTail returns the last n lines of the process log.
func (p *Process) LogTail(n int) string { return tailFile(p.Log, n) }

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls check every interval until it returns nil, ctx ends or timeout
// passes. On failure the error names what, the last check error, and the tail
// of p's log when p is given (and says so if p exited).
func poll(ctx context.Context, what string, timeout time.Duration, p *Process, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		exited := p != nil && !p.Alive()
		if exited || ctx.Err() != nil {
			msg := fmt.Sprintf("wait for %s: %v", what, last)
			if p != nil {
				state := "still running"
				if exited {
					state = "exited"
				}
				msg += fmt.Sprintf("\n--- %s (pid %d, %s), last lines of %s:\n%s", p.Name, p.PID, state, p.Log, p.LogTail(25))
			}
			return errors.New(msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// itoa is strconv.Itoa, short for flag building.
func itoa(i int) string { return strconv.Itoa(i) }
