package vertical

import (
	"bytes"
	"encoding/binary"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the v2 golden checkpoint (and create the v1 one if missing)")

// sampleStates builds two containers with three days of deterministic CPU
// and memory samples and one OOM.
func sampleStates(t *testing.T) map[string]*Aggregate {
	t.Helper()
	cfg := DefaultConfig()
	states := map[string]*Aggregate{}
	for i, name := range []string{"app", "sidecar"} {
		a := NewAggregate(cfg, startTime)
		c := a.NewContainer()
		for m := range 3 * 1440 / 5 {
			ts := startTime.Add(time.Duration(m) * 5 * time.Minute)
			cpu := int64(100*(i+1)) + int64(m%37)*7
			mem := int64(200+100*i)<<20 + int64(m%53)<<20
			if _, err := c.AddCPU(ts, cpu); err != nil {
				t.Fatal(err)
			}
			if _, err := c.AddMemory(ts, mem); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.RecordOOM(startTime.Add(70*time.Hour), 400<<20); err != nil {
			t.Fatal(err)
		}
		states[name] = a
	}
	return states
}

var savedAt = startTime.Add(72 * time.Hour)

func recommendAll(t *testing.T, states map[string]*Aggregate) []ContainerRecommendation {
	t.Helper()
	recs, err := Recommend(states, Policy{}, savedAt)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// appendV1 is the frozen version 1 encoder, kept to create the v1 golden.
func appendV1(states map[string]*Aggregate) []byte {
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	slices.Sort(names)
	b := append([]byte(checkpointMagic), 1)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		a := states[n]
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
		b = binary.AppendVarint(b, a.first)
		b = binary.AppendVarint(b, a.last)
		b = binary.AppendUvarint(b, uint64(a.samples))
		b = appendHistogram(b, &a.cpu, false)
		b = appendHistogram(b, &a.mem, false)
	}
	return b
}

func TestCheckpointGolden(t *testing.T) {
	states := sampleStates(t)
	got, err := Encode(savedAt, states)
	if err != nil {
		t.Fatal(err)
	}
	v2 := filepath.Join("testdata", "checkpoint_v2.golden")
	v1 := filepath.Join("testdata", "checkpoint_v1.golden")
	if *update {
		if err := os.WriteFile(v2, got, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(v1); os.IsNotExist(err) { // v1 is frozen: never rewritten
			if err := os.WriteFile(v1, appendV1(states), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, err := os.ReadFile(v2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode differs from %s (%d vs %d bytes); run go test -update if the format changed on purpose", v2, len(got), len(want))
	}
	wantRecs := recommendAll(t, states)
	for _, tc := range []struct {
		name, file  string
		wantSavedAt time.Time
	}{
		{"current v2", v2, savedAt},
		{"frozen older v1", v1, time.Unix(0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			at, restored, err := Decode(DefaultConfig(), data)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantSavedAt.UnixNano() != 0 && !at.Equal(tc.wantSavedAt) {
				t.Errorf("savedAt = %v, want %v", at, tc.wantSavedAt)
			}
			if d := cmp.Diff(wantRecs, recommendAll(t, restored)); d != "" {
				t.Errorf("recommendations after restore (-want +got):\n%s", d)
			}
			for n, a := range restored {
				if m, w := a.CPUMean(), states[n].CPUMean(); math.Abs(m-w) > 0.05*w {
					t.Errorf("%s CPU mean after restore %v, want %v within 5%%", n, m, w)
				}
			}
		})
	}
}

func TestCheckpointSize(t *testing.T) {
	states := sampleStates(t)
	b, err := Encode(savedAt, states)
	if err != nil {
		t.Fatal(err)
	}
	// Two containers: header + 2 x (name, times, two histograms of
	// at most a few dozen buckets x 4 bytes).
	if len(b) > 1000 {
		t.Errorf("checkpoint of 2 containers is %d bytes, want <= 1000", len(b))
	}
	// Too many containers: the size bound is enforced.
	cfg := DefaultConfig()
	big := map[string]*Aggregate{}
	for i := range 2000 {
		a := NewAggregate(cfg, startTime)
		c := a.NewContainer()
		for v := range 176 { // fill every CPU bucket
			if _, err := c.AddCPU(startTime.Add(time.Duration(v)*time.Minute), int64(cfg.cpu.starts[v]*1000)+1); err != nil {
				t.Fatal(err)
			}
		}
		big[strings.Repeat("c", 20)+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = a
	}
	if _, err := Encode(savedAt, big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("Encode of 2000 full containers: err = %v, want the size bound", err)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good, err := Encode(savedAt, sampleStates(t))
	if err != nil {
		t.Fatal(err)
	}
	v1 := appendV1(sampleStates(t))
	flip := func(b []byte, i int) []byte { c := slices.Clone(b); c[i] ^= 0xff; return c }
	for _, tc := range []struct {
		name, data, wantErr string
	}{
		{"empty", "", "missing magic"},
		{"wrong magic", "XXXX\x02", "missing magic"},
		{"unknown version", "EBBV\x09aaaa", "unsupported version 9"},
		{"v2 bit flip", string(flip(good, 20)), "CRC mismatch"},
		{"v2 truncated", string(good[:len(good)-7]), "CRC mismatch"},
		{"v1 truncated", string(v1[:len(v1)-3]), "truncated"},
		{"v1 trailing bytes", string(v1) + "zz", "trailing bytes"},
		{"v1 huge container count", "EBBV\x01\xff\xff\xff\xff\x0f", "container count"},
		{"v1 bad weight", string(v1[:len(v1)-4]) + "\x00\x00\xc0\x7f", "not a finite non-negative number"}, // NaN
		{"v1 zero-length name", "EBBV\x01\x01\x00", "container name length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decode(DefaultConfig(), []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Decode error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzDecodeCheckpoint(f *testing.F) {
	cfg := DefaultConfig()
	for _, name := range []string{"checkpoint_v1.golden", "checkpoint_v2.golden"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("EBBV\x02"))
	f.Add([]byte("EBBV\x01\x01\x01a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, states, err := Decode(cfg, data)
		if err != nil {
			return
		}
		// Whatever decodes must recommend and re-encode without error.
		if _, err := Recommend(states, Policy{}, savedAt); err != nil {
			t.Fatalf("Recommend after Decode: %v", err)
		}
		if _, err := Encode(savedAt, states); err != nil {
			t.Fatalf("Encode after Decode: %v", err)
		}
	})
}
