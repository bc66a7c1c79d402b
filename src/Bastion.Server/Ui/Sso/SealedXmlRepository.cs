using System.Xml.Linq;
using Bastion.Storage;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Bastion.Server.Ui.Sso;

/// <summary>
/// ASP.NET Core Data Protection's key store for the web UI's sign-ins, in the database: each key's XML sealed with
/// Bastion's key ring (<see cref="RecordIdentities.Sealed"/>, encrypted at rest like every record; moved to a new key
/// version by re-encryption) and never written in plaintext. Every node of a cluster reads the same keys, so an OpenID
/// Connect sign-in's state protected by one node is read by another.
/// </summary>
internal sealed class SealedXmlRepository(ISignInStore store, IRecordCodec codec) : IXmlRepository
{
    private const string Prefix = "data-protection/";

    /// <summary>Whether keys can be kept in the database: only sealed, so only when records are encrypted at rest.</summary>
    public static bool CanSeal(IRecordCodec codec) => codec is not PlainRecordCodec;

    // Data Protection's interface is synchronous; it reads the keys at start and when its key ring refreshes (rarely).
    public IReadOnlyCollection<XElement> GetAllElements() =>
        [.. store.ListSealedAsync(Prefix, CancellationToken.None).GetAwaiter().GetResult()
            .Select(v => XElement.Parse(codec.DecodeText(RecordIdentities.Sealed(v.Name), v.Value)))];

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        var name = Prefix + friendlyName;
        var sealedXml = codec.EncodeText(RecordIdentities.Sealed(name), element.ToString(SaveOptions.DisableFormatting));
        store.PutSealedAsync(name, sealedXml, CancellationToken.None).GetAwaiter().GetResult();
    }
}
