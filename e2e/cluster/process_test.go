package cluster

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestProcessStop(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		grace time.Duration
	}{
		{name: "SIGTERM ends a cooperative process", args: []string{"-c", "exec sleep 30"}, grace: 5 * time.Second},
		{name: "SIGKILL after grace ends a process ignoring SIGTERM", args: []string{"-c", "trap '' TERM; echo started; while :; do sleep 0.1; done"}, grace: 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := StartProcess("p", "/bin/sh", tc.args, t.TempDir(), true)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			if !p.Alive() {
				t.Fatalf("process exited early: %s", p.LogTail(5))
			}
			if err := p.Stop(tc.grace); err != nil {
				t.Fatal(err)
			}
			if p.Alive() {
				t.Error("process alive after Stop")
			}
			if err := p.Stop(tc.grace); err != nil {
				t.Errorf("second Stop = %v, want nil", err)
			}
		})
	}
}

func TestStoppedFromStateByAnotherProcess(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	p, err := StartProcess("p", sleep, []string{"30"}, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	loaded := &Process{Name: p.Name, PID: p.PID, Bin: sleep} // as read from state.json: no done channel
	if !loaded.Alive() {
		t.Fatal("loaded process not alive; want alive (exe is sleep)")
	}
	wrongBin := &Process{Name: p.Name, PID: p.PID, Bin: "/usr/bin/not-this"}
	if wrongBin.Alive() {
		t.Error("process with another binary counted as alive; a recycled PID would be killed")
	}
}

func TestPollErrorShowsLogTail(t *testing.T) {
	p, err := StartProcess("crashy", "/bin/sh", []string{"-c", "echo first; echo 'listen tcp: address already in use'; exit 1"}, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	err = poll(context.Background(), "crashy ready", 10*time.Second, p, func(context.Context) error { return errors.New("connection refused") })
	if err == nil {
		t.Fatal("poll = nil, want an error")
	}
	for _, want := range []string{"wait for crashy ready: connection refused", "exited", "address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("poll error %q does not contain %q", err, want)
		}
	}
}
