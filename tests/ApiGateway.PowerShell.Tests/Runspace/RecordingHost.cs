using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace ApiGateway.PowerShell.Tests.Runspace;

/// <summary>
/// A PowerShell host for tests: records everything the engine writes to the user (what an interactive user or a CI
/// log would see) and answers confirmation prompts from a queue the test fills. A prompt nobody expected fails the
/// command (as -NonInteractive does), so a cmdlet that would hang a script waiting for an answer is caught.
/// </summary>
public sealed class RecordingHost : PSHost
{
    private readonly RecordingHostUserInterface _ui = new();

    public override string Name => "ApiGateway.Tests";

    public override Version Version { get; } = new(1, 0);

    public override Guid InstanceId { get; } = Guid.NewGuid();

    public override PSHostUserInterface UI => _ui;

    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;

    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;

    /// <summary>Everything written to the host (console text, warnings, errors, verbose and information shown).</summary>
    public string Text => _ui.Text;

    /// <summary>The confirmation prompts asked so far (caption and message).</summary>
    public IReadOnlyList<string> Prompts => _ui.Prompts;

    /// <summary>
    /// Queues answers to the next confirmation prompts by their label without the hot key marker, e.g. "Yes", "No",
    /// "Yes to All".
    /// </summary>
    public void Answer(params string[] labels) => _ui.Answers.AddRange(labels);

    public void Clear() => _ui.Clear();

    public override void SetShouldExit(int exitCode) { }

    public override void EnterNestedPrompt() => throw new NotSupportedException();

    public override void ExitNestedPrompt() => throw new NotSupportedException();

    public override void NotifyBeginApplication() { }

    public override void NotifyEndApplication() { }

    private sealed class RecordingHostUserInterface : PSHostUserInterface, IHostUISupportsMultipleChoiceSelection
    {
        private readonly StringBuilder _text = new();
        private readonly List<string> _prompts = [];

        public List<string> Answers { get; } = [];

        public string Text
        {
            get
            {
                lock (_text)
                    return _text.ToString();
            }
        }

        public IReadOnlyList<string> Prompts => _prompts;

        public override PSHostRawUserInterface RawUI { get; } = new RecordingRawUserInterface();

        public void Clear()
        {
            lock (_text)
                _text.Clear();
            _prompts.Clear();
        }

        private void Append(string text)
        {
            lock (_text)
                _text.Append(text);
        }

        public override void Write(string value) => Append(value);

        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Append(value);

        public override void WriteLine(string value) => Append(value + "\n");

        public override void WriteErrorLine(string value) => Append("ERROR: " + value + "\n");

        public override void WriteDebugLine(string message) => Append("DEBUG: " + message + "\n");

        public override void WriteVerboseLine(string message) => Append("VERBOSE: " + message + "\n");

        public override void WriteWarningLine(string message) => Append("WARNING: " + message + "\n");

        // The engine hands every information record to the host, shown or not (for transcripts); what is shown arrives
        // through Write/WriteLine, as the console host does it.
        public override void WriteInformation(InformationRecord record) { }

        public override void WriteProgress(long sourceId, ProgressRecord record) { }

        public override string ReadLine() => throw new InvalidOperationException("The command asked for input (ReadLine); tests answer only confirmation prompts.");

        public override SecureString ReadLineAsSecureString() => throw new InvalidOperationException("The command asked for a secret (ReadLineAsSecureString).");

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
            throw new InvalidOperationException($"The command prompted for {string.Join(", ", descriptions.Select(d => d.Name))}: {caption} {message}");

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
            throw new InvalidOperationException("The command prompted for a credential.");

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
            throw new InvalidOperationException("The command prompted for a credential.");

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            _prompts.Add($"{caption}: {message}");
            if (Answers.Count == 0)
                throw new InvalidOperationException($"Unexpected prompt: {caption}: {message}");
            var answer = Answers[0];
            Answers.RemoveAt(0);
            for (var i = 0; i < choices.Count; i++)
            {
                if (string.Equals(choices[i].Label.Replace("&", "", StringComparison.Ordinal), answer, StringComparison.OrdinalIgnoreCase))
                    return i;
            }
            throw new InvalidOperationException($"No choice '{answer}' in: {string.Join(", ", choices.Select(c => c.Label))}");
        }

        public Collection<int> PromptForChoice(string? caption, string? message, Collection<ChoiceDescription> choices, IEnumerable<int>? defaultChoices) =>
            [PromptForChoice(caption ?? "", message ?? "", choices, defaultChoices?.FirstOrDefault() ?? 0)];
    }

    private sealed class RecordingRawUserInterface : PSHostRawUserInterface
    {
        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;

        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;

        public override Size BufferSize { get; set; } = new(200, 1000);

        public override Coordinates CursorPosition { get; set; }

        public override int CursorSize { get; set; }

        public override bool KeyAvailable => false;

        public override Size MaxPhysicalWindowSize => new(200, 100);

        public override Size MaxWindowSize => new(200, 100);

        public override Coordinates WindowPosition { get; set; }

        public override Size WindowSize { get; set; } = new(200, 100);

        public override string WindowTitle { get; set; } = "";

        public override void FlushInputBuffer() { }

        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];

        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new InvalidOperationException("The command read a key.");

        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }

        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }

        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}
