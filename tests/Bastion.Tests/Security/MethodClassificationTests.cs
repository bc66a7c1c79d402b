using Bastion.Security.Authorization;
using Bastion.Wire;
using Google.Protobuf.Reflection;

namespace Bastion.Tests.Security;

public sealed class MethodClassificationTests
{
    [Fact]
    public void Table_ClassifiesEveryMethodOfEveryBoundService()
    {
        var missing = GrpcServiceDescriptors.All
            .SelectMany(s => s.Methods)
            .Where(m => MethodClassification.For(m.Service.Name, m.Name) is null)
            .Select(m => $"{m.Service.Name}/{m.Name}")
            .ToList();
        Assert.Empty(missing);
        Assert.Equal(123, GrpcServiceDescriptors.WorkflowService.Methods.Count);
        Assert.Equal(12, GrpcServiceDescriptors.OperatorService.Methods.Count);
        Assert.Equal(76, GrpcServiceDescriptors.CloudService.Methods.Count);
    }

    [Fact]
    public void Table_HasNoEntryForAMethodThatDoesNotExist()
    {
        var known = GrpcServiceDescriptors.All.SelectMany(s => s.Methods).Select(m => $"{m.Service.Name}/{m.Name}").ToHashSet();
        Assert.DoesNotContain(MethodClassification.Table.Keys, k => !known.Contains(k));
    }

    [Fact]
    public void NamespaceScopedMethods_AllCarryANamespaceField()
    {
        var withoutField = GrpcServiceDescriptors.All
            .SelectMany(s => s.Methods)
            .Where(m => MethodClassification.For(m.Service.Name, m.Name)!.Value.IsNamespaceScoped())
            .Where(m => m.InputType.FindFieldByName("namespace") is not { FieldType: FieldType.String })
            .Select(m => m.Name)
            .ToList();
        Assert.Empty(withoutField);
    }

    [Theory]
    [InlineData("WorkflowService", "StartWorkflowExecution", Permission.NamespaceWrite)]
    [InlineData("WorkflowService", "PollActivityTaskQueue", Permission.NamespaceWrite)]
    [InlineData("WorkflowService", "QueryWorkflow", Permission.NamespaceRead)]
    [InlineData("WorkflowService", "GetWorkflowExecutionHistory", Permission.NamespaceRead)]
    [InlineData("WorkflowService", "UpdateNamespace", Permission.NamespaceAdmin)]
    [InlineData("WorkflowService", "RegisterNamespace", Permission.AccountAdmin)]
    [InlineData("WorkflowService", "GetSystemInfo", Permission.Public)]
    [InlineData("OperatorService", "AddSearchAttributes", Permission.NamespaceAdmin)]
    [InlineData("OperatorService", "DeleteNamespace", Permission.AccountAdmin)]
    [InlineData("CloudService", "CreateNamespace", Permission.NamespaceCreate)]
    [InlineData("CloudService", "UpdateNamespace", Permission.NamespaceAdmin)]
    [InlineData("CloudService", "GetNamespace", Permission.NamespaceRead)]
    [InlineData("CloudService", "SetUserNamespaceAccess", Permission.NamespaceAdmin)]
    [InlineData("CloudService", "CreateUser", Permission.AccountAdmin)]
    [InlineData("CloudService", "GetUsers", Permission.AccountRead)]
    [InlineData("CloudService", "CreateApiKey", Permission.AccountMember)]
    [InlineData("CloudService", "GetUsage", Permission.Billing)]
    public void Table_GivesTheSecurityModelsPermission(string service, string method, Permission expected) =>
        Assert.Equal(expected, MethodClassification.For(service, method));

    [Fact]
    public void UnknownMethod_IsUnclassified() => Assert.Null(MethodClassification.For("WorkflowService", "NoSuchMethod"));
}
