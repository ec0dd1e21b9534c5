package forge

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/debforge/debforge/internal/executor/sandbox"
	"github.com/debforge/debforge/internal/source"
)

// sandboxedUnpack is the fetcher's unpack step: sandbox.Unpacker, with an
// archive over limits.unpacked_size reported as the source's limit.
func (f *Forge) sandboxedUnpack(ctx context.Context, kind, archive, dst string, strip int, maxBytes int64, log io.Writer) error {
	u := &sandbox.Unpacker{CacheDir: f.opts.CacheDir, Runner: f.runner,
		SelfSHA256: func() (string, error) { return selfSHA256(f.digests()) }}
	err := u.Unpack(ctx, kind, archive, dst, strip, maxBytes, log)
	if err != nil && maxBytes > 0 && strings.Contains(err.Error(), "limits.unpacked_size") {
		return fmt.Errorf("unpack %s in the sandbox: %w", filepath.Base(archive), &source.TooLargeError{Limit: maxBytes})
	}
	return err
}
