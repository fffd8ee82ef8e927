"""Which imports a generated function may use: each language's standard library, nothing else."""

from __future__ import annotations

# Import paths of Go's standard library (Go 1.22), minus cgo, internal, vendor and test-only packages.
GO_STD_PACKAGES: tuple[str, ...] = (
    "archive/tar", "archive/zip", "bufio", "bytes", "cmp", "compress/bzip2", "compress/flate",
    "compress/gzip", "compress/lzw", "compress/zlib", "container/heap", "container/list",
    "container/ring", "context", "crypto", "crypto/aes", "crypto/cipher", "crypto/des",
    "crypto/ecdh", "crypto/ecdsa", "crypto/ed25519", "crypto/elliptic", "crypto/hmac",
    "crypto/md5", "crypto/rand", "crypto/rc4", "crypto/rsa", "crypto/sha1", "crypto/sha256",
    "crypto/sha512", "crypto/subtle", "crypto/tls", "crypto/x509", "database/sql",
    "database/sql/driver", "debug/buildinfo", "debug/dwarf", "debug/elf", "debug/gosym",
    "debug/macho", "debug/pe", "debug/plan9obj", "embed", "encoding", "encoding/ascii85",
    "encoding/asn1", "encoding/base32", "encoding/base64", "encoding/binary", "encoding/csv",
    "encoding/gob", "encoding/hex", "encoding/json", "encoding/pem", "encoding/xml", "errors",
    "expvar", "flag", "fmt", "go/ast", "go/build", "go/constant", "go/doc", "go/format",
    "go/importer", "go/parser", "go/printer", "go/scanner", "go/token", "go/types", "hash",
    "hash/adler32", "hash/crc32", "hash/crc64", "hash/fnv", "hash/maphash", "html",
    "html/template", "image", "image/color", "image/color/palette", "image/draw", "image/gif",
    "image/jpeg", "image/png", "index/suffixarray", "io", "io/fs", "io/ioutil", "iter", "log",
    "log/slog", "log/syslog", "maps", "math", "math/big", "math/bits", "math/cmplx", "math/rand",
    "math/rand/v2", "mime", "mime/multipart", "mime/quotedprintable", "net", "net/http",
    "net/http/cookiejar", "net/http/httptest", "net/http/httputil", "net/mail", "net/netip",
    "net/rpc", "net/smtp", "net/textproto", "net/url", "os", "os/exec", "os/signal", "os/user",
    "path", "path/filepath", "plugin", "reflect", "regexp", "regexp/syntax", "runtime",
    "runtime/debug", "runtime/pprof", "runtime/trace", "slices", "sort", "strconv", "strings",
    "sync", "sync/atomic", "syscall", "testing", "text/scanner", "text/tabwriter",
    "text/template", "time", "unicode", "unicode/utf16", "unicode/utf8", "unique", "unsafe",
)  # fmt: skip

# Java: any package under these roots (``import java.util.*;``, ``import static java.lang.Math.max;``).
JAVA_STD_ROOTS: tuple[str, ...] = ("java", "javax")

# Rust: ``use`` paths must start at one of these crates.
RUST_STD_CRATES: tuple[str, ...] = ("std", "core", "alloc")

# TypeScript: a single function needs no import (the standard library is global).
TYPESCRIPT_STD_MODULES: tuple[str, ...] = ()

STD_IMPORTS: dict[str, tuple[str, ...]] = {
    "go": GO_STD_PACKAGES,
    "java": JAVA_STD_ROOTS,
    "rust": RUST_STD_CRATES,
    "typescript": TYPESCRIPT_STD_MODULES,
}
