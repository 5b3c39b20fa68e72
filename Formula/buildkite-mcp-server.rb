# Homebrew formula that works before any release exists: it builds the main branch from source.
#   brew tap buildkite-mcp-rs/buildkite-mcp-server https://github.com/buildkite-mcp-rs/buildkite-mcp-server
#   brew install --HEAD buildkite-mcp-server
# Releases publish a binary formula of the same name to the buildkite-mcp-rs/homebrew-tap tap
# (written by the release pipeline, see README "Install").
class BuildkiteMcpServer < Formula
  desc "Token-efficient Model Context Protocol server for Buildkite"
  homepage "https://github.com/buildkite-mcp-rs/buildkite-mcp-server"
  license "MIT"
  head "https://github.com/buildkite-mcp-rs/buildkite-mcp-server.git", branch: "main"

  depends_on "rust" => :build

  def install
    # --version names the commit: the checkout's, read by build.rs through git.
    system "cargo", "install", "--locked", "--root", prefix, "--path", "."
    generate_completions_from_executable(bin/"buildkite-mcp-server", "completions")
    (man1/"buildkite-mcp-server.1").write Utils.safe_popen_read(bin/"buildkite-mcp-server", "man")
  end

  test do
    assert_match(/^buildkite-mcp-server \d+\.\d+\.\d+ \(commit (\h+|unknown)\)/,
                 shell_output("#{bin}/buildkite-mcp-server --version"))
    # One tool call on the embedded demo organization: no token, no network.
    output = shell_output("#{bin}/buildkite-mcp-server call get_build build=acme/web/1342 --demo")
    assert_match '"build":"acme/web/1342"', output.delete(" \n")
  end
end
