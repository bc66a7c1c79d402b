using System.Text.Json.Serialization;

namespace Bastion.Server.Ui;

/// <summary>
/// What <c>GET /api/v1/settings</c> answers on the UI's origin: the document Temporal's UI server serves there, whose
/// PascalCase field names the UI reads (<c>fetchSettings</c> in @temporalio/ui). Write actions follow Bastion's own
/// permissions (the server refuses what the caller may not do); the UI's switches only hide buttons.
/// </summary>
internal sealed record UiSettings(
    UiSettings.AuthSettings Auth,
    string DefaultNamespace,
    UiSettings.CodecSettings Codec)
{
    /// <summary>The @temporalio/ui version the bundle is built from; the UI encodes path parameters once from 2.23 on.</summary>
    public const string BundledUiVersion = "2.38.0";

    public string BannerText { get; init; } = string.Empty;

    public bool ShowTemporalSystemNamespace { get; init; }

    public string FeedbackURL { get; init; } = string.Empty;

    public bool NotifyOnNewVersion { get; init; }

    public string Version { get; init; } = BundledUiVersion;

    public bool DisableWriteActions { get; init; }

    /// <summary>Off: the start-workflow page is mounted; a reader is not offered it (the namespace's write permission).</summary>
    public bool StartWorkflowDisabled { get; init; }

    public bool WorkflowTerminateDisabled { get; init; }

    public bool WorkflowCancelDisabled { get; init; }

    public bool WorkflowSignalDisabled { get; init; }

    public bool WorkflowUpdateDisabled { get; init; }

    public bool WorkflowResetDisabled { get; init; }

    public bool BatchActionsDisabled { get; init; }

    public bool HideWorkflowQueryErrors { get; init; }

    public bool RefreshWorkflowCountsDisabled { get; init; }

    /// <summary>Start-dev: no sign-in (loopback, as Temporal's dev server).</summary>
    public static UiSettings DevMode(string defaultNamespace) => new(
        new AuthSettings(false, []),
        defaultNamespace,
        new CodecSettings(string.Empty, false, false));

    /// <summary>Server start: the UI signs in first (its own sign-in page, <see cref="UiSignIn"/>, which asks <c>/auth/methods</c> for single sign-on).</summary>
    public static UiSettings SignIn(string defaultNamespace) => DevMode(defaultNamespace) with { Auth = new AuthSettings(true, []) };

    /// <param name="Enabled">Whether the UI must sign in first.</param>
    /// <param name="Options">The sign-in provider's options (none without SSO).</param>
    public sealed record AuthSettings(bool Enabled, IReadOnlyList<string> Options);

    /// <summary>A codec server the browser calls to decode payloads (empty: none).</summary>
    public sealed record CodecSettings(string Endpoint, bool PassAccessToken, bool IncludeCredentials)
    {
        public string DefaultErrorMessage { get; init; } = string.Empty;

        public string DefaultErrorLink { get; init; } = string.Empty;
    }
}

/// <summary>Source-generated serialization for <see cref="UiSettings"/>, names as declared.</summary>
[JsonSerializable(typeof(UiSettings))]
internal sealed partial class UiSettingsJson : JsonSerializerContext;
