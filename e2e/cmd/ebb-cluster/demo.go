package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"
)

type demoConfig struct {
	dir, binDir, ebbBin string
	duration            time.Duration
}

func demo(ctx context.Context, log *slog.Logger, cfg demoConfig, w io.Writer) error {
	return errors.New("not yet")
}
