package sqlite

import (
	"encoding/binary"
	"testing"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteStatus is the current value of SQLite's process-wide counter op.
func sqliteStatus(t *testing.T, op int32) int64 {
	t.Helper()
	tls := libc.NewTLS()
	defer tls.Close()
	p := libc.Xmalloc(tls, types.Size_t(16))
	if p == 0 {
		t.Fatal("out of memory")
	}
	defer libc.Xfree(tls, p)
	if rc := sqlite3.Xsqlite3_status64(tls, op, p, p+8, 0); rc != sqlite3.SQLITE_OK {
		t.Fatalf("sqlite3_status64(%d): %d", op, rc)
	}
	return int64(binary.NativeEndian.Uint64(libc.GoBytes(p, 8)))
}

// TestCachedPagesLiveInThePageBuffer: the pages a store reads are held in
// the page buffer set up at init, not in a malloc each (which costs an
// 8 KiB slot of modernc's allocator per 4 KiB page).
func TestCachedPagesLiveInThePageBuffer(t *testing.T) {
	if err := pageCacheSetup.err; err != nil {
		t.Fatalf("page buffer not set up: %v", err)
	}
	if least := 4096 + 100; pageCacheSetup.slotSize < least || pageCacheSetup.slotSize > 8192 {
		t.Fatalf("slot size %d, want a page and its header (%d–8192 bytes)", pageCacheSetup.slotSize, least)
	}
	if got := pageCacheSetup.slots * pageCacheSetup.slotSize; got < writerCacheKiB<<10 {
		t.Fatalf("buffer of %d bytes, smaller than the writer's cache alone", got)
	}

	s, tk := verifyFixture(t)
	for range 3 {
		if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), tk.Digest); err != nil {
			t.Fatal(err)
		}
	}
	used := sqliteStatus(t, sqlite3.SQLITE_STATUS_PAGECACHE_USED)
	if used <= 0 {
		t.Fatalf("%d pages in the page buffer after a store wrote and read, want some", used)
	}
	if used > int64(pageCacheSetup.slots) {
		t.Fatalf("%d pages in a buffer of %d slots", used, pageCacheSetup.slots)
	}
}
