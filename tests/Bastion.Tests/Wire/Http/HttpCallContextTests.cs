using System.Net;
using Bastion.Wire.Http;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Bastion.Tests.Wire.Http;

public sealed class HttpCallContextTests
{
    [Fact]
    public void AnHttpRequest_LooksToThePipelineLikeAGrpcCall()
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Loopback;
        http.Connection.RemotePort = 5555;
        http.Request.Headers.Authorization = "Bearer key";
        http.Request.Headers["Temporal-Namespace"] = "default";
        http.Request.Headers["Grpc-Metadata-Custom"] = "x";
        http.Request.Headers["Cookie"] = "session=secret";

        var call = new HttpCallContext(http, "/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace");

        Assert.Same(http, call.GetHttpContext()); // what Grpc.AspNetCore's extension finds, as the pipeline uses it
        Assert.Equal("/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace", call.Method);
        Assert.Equal("ipv4:127.0.0.1:5555", call.Peer);
        Assert.Equal("Bearer key", call.RequestHeaders.GetValue("authorization"));
        Assert.Equal("default", call.RequestHeaders.GetValue("temporal-namespace"));
        Assert.Equal("x", call.RequestHeaders.GetValue("custom"));
        Assert.Null(call.RequestHeaders.GetValue("cookie")); // only the headers a call needs become metadata
        Assert.Equal(http.RequestAborted, call.CancellationToken);
    }
}
