namespace Bastion.Frontend.OperatorService;

/// <summary>
/// OperatorService handlers. None exist yet: every method answers UNIMPLEMENTED naming itself (the binder
/// does that for methods without a handler). Search attributes arrive with the visibility work.
/// </summary>
internal sealed class OperatorServiceHandler;
