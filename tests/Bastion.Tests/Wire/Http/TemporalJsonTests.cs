using System.Text.Json.Nodes;
using Bastion.Wire.Http;
using Google.Protobuf;
using Temporalio.Api.Common.V1;
using Temporalio.Api.WorkflowService.V1;

namespace Bastion.Tests.Wire.Http;

public sealed class TemporalJsonTests
{
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    private static Payload Plain(string json) => new()
    {
        Metadata = { ["encoding"] = ByteString.CopyFromUtf8("json/plain") },
        Data = ByteString.CopyFromUtf8(json),
    };

    private static StartWorkflowExecutionRequest Parse(string json, bool shorthand = true)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        TemporalJson.ToStandard(node, StartWorkflowExecutionRequest.Descriptor, shorthand);
        return s_parser.Parse<StartWorkflowExecutionRequest>(node.ToJsonString());
    }

    private static JsonObject Shorthand(IMessage message)
    {
        var node = JsonNode.Parse(JsonFormatter.Default.Format(message))!.AsObject();
        TemporalJson.ToShorthand(node, message.Descriptor);
        return node;
    }

    [Fact]
    public void ShorthandInput_BecomesJsonPlainProtobufAndNullPayloads()
    {
        var request = Parse("""
            {"input": ["text", 3, {"a": [1]}, null, {"x": 1, "_protoMessageType": "my.Msg"}],
             "memo": {"fields": {"k": {"v": true}}},
             "header": {"fields": {"h": null}}}
            """);
        var payloads = request.Input.Payloads_;
        Assert.Equal("\"text\"", payloads[0].Data.ToStringUtf8());
        Assert.Equal("3", payloads[1].Data.ToStringUtf8());
        Assert.Equal("""{"a":[1]}""", payloads[2].Data.ToStringUtf8());
        Assert.Equal("json/plain", payloads[2].Metadata["encoding"].ToStringUtf8());
        Assert.Equal("binary/null", payloads[3].Metadata["encoding"].ToStringUtf8());
        Assert.Equal("json/protobuf", payloads[4].Metadata["encoding"].ToStringUtf8());
        Assert.Equal("my.Msg", payloads[4].Metadata["messageType"].ToStringUtf8());
        Assert.Equal("""{"x":1}""", payloads[4].Data.ToStringUtf8());
        Assert.Equal("""{"v":true}""", request.Memo.Fields["k"].Data.ToStringUtf8());
        Assert.Equal("binary/null", request.Header.Fields["h"].Metadata["encoding"].ToStringUtf8());
    }

    [Fact]
    public void StandardPayloads_AreAcceptedWithOrWithoutShorthand()
    {
        var standard = JsonFormatter.Default.Format(new StartWorkflowExecutionRequest { Input = new Payloads { Payloads_ = { Plain("\"x\"") } } });
        Assert.Equal("\"x\"", Parse(standard).Input.Payloads_[0].Data.ToStringUtf8());
        Assert.Equal("\"x\"", Parse(standard, shorthand: false).Input.Payloads_[0].Data.ToStringUtf8());
        Assert.Throws<InvalidProtocolBufferException>(() => Parse("""{"input": ["x"]}""", shorthand: false));
    }

    [Fact]
    public void ShorthandOutput_ShowsJsonPayloads_AndKeepsTheOthersStandard()
    {
        var binary = new Payload { Metadata = { ["encoding"] = ByteString.CopyFromUtf8("binary/plain") }, Data = ByteString.CopyFromUtf8("raw") };
        var request = new StartWorkflowExecutionRequest
        {
            Input = new Payloads { Payloads_ = { Plain("\"a\""), Plain("""{"b":2}""") } },
            Memo = new Memo { Fields = { ["m"] = Plain("[1,2]"), ["bin"] = binary } },
        };
        var json = Shorthand(request);
        Assert.Equal("""["a",{"b":2}]""", json["input"]!.ToJsonString());
        Assert.Equal("[1,2]", json["memo"]!["fields"]!["m"]!.ToJsonString());
        Assert.Equal(Convert.ToBase64String("raw"u8.ToArray()), json["memo"]!["fields"]!["bin"]!["data"]!.GetValue<string>());

        // One payload without a shorthand keeps the standard Payloads form, the others still shown as shorthand.
        request.Input.Payloads_.Add(binary);
        json = Shorthand(request);
        var items = json["input"]!["payloads"]!.AsArray();
        Assert.Equal("a", items[0]!.GetValue<string>());
        Assert.NotNull(items[2]!["metadata"]);

        // Round trip: what the output shows, the input takes back.
        var back = Parse(Shorthand(new StartWorkflowExecutionRequest { Input = new Payloads { Payloads_ = { Plain("""{"b":2}""") } } }).ToJsonString());
        Assert.Equal("""{"b":2}""", back.Input.Payloads_[0].Data.ToStringUtf8());
    }

    [Fact]
    public void EnumNames_InTemporalsShortForm_AreAccepted()
    {
        var request = Parse("""{"workflowIdReusePolicy": "AllowDuplicateFailedOnly", "workflowIdConflictPolicy": "WORKFLOW_ID_CONFLICT_POLICY_FAIL"}""");
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowIdReusePolicy.AllowDuplicateFailedOnly, request.WorkflowIdReusePolicy);
        Assert.Equal(Temporalio.Api.Enums.V1.WorkflowIdConflictPolicy.Fail, request.WorkflowIdConflictPolicy);
        Assert.Throws<InvalidProtocolBufferException>(() => Parse("""{"workflowIdReusePolicy": "Sometimes"}"""));
    }
}
