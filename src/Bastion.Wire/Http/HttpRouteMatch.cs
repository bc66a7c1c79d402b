namespace Bastion.Wire.Http;

/// <summary>
/// The outcome of routing: the route and its variable values, or none — then <see cref="Allowed"/> says whether the
/// path exists under other HTTP methods (405) or not at all (404).
/// </summary>
internal sealed record HttpRouteMatch(HttpRoute? Route, IReadOnlyList<string> Values, IReadOnlySet<string> Allowed);
